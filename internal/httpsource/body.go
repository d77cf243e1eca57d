package httpsource

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/api"
)

// Chunk sizes of ReadBody: small first, so small answers cost little.
const (
	firstChunk = 32 << 10
	maxChunk   = 1 << 20
)

// ReadBody reads a response body whole in memory proportional to its
// length: it fills chunks that are never copied while it reads, and
// joins them once at the end. io.ReadAll and bytes.Buffer grow by
// doubling instead, copying as they go, so a body cut off at the
// client's size cap (an endless answer) costs several times the cap
// before the cap's error ends it; here it costs the cap.
func ReadBody(r io.Reader) ([]byte, error) {
	var chunks [][]byte
	size := firstChunk
	total := 0
	for {
		buf := make([]byte, size)
		n, err := io.ReadFull(r, buf)
		total += n
		if n > 0 {
			chunks = append(chunks, buf[:n])
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(2*size, maxChunk)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// NewAPIClient is client_golang's API client for a Prometheus at address
// over hc, but reading answers with ReadBody: client_golang's own reads
// into a bytes.Buffer, whose doubling makes an endless answer cost
// several times max_response_bytes before the cap stops it.
func NewAPIClient(address string, hc *http.Client) (api.Client, error) {
	c, err := api.NewClient(api.Config{Address: address, Client: hc})
	if err != nil {
		return nil, err
	}
	return &apiClient{url: c, hc: hc}, nil
}

type apiClient struct {
	url interface {
		URL(ep string, args map[string]string) *url.URL
	}
	hc *http.Client
}

func (c *apiClient) URL(ep string, args map[string]string) *url.URL { return c.url.URL(ep, args) }

func (c *apiClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	if ctx != nil {
		req = req.WithContext(ctx)
	}
	// As client_golang's own: once ctx is done, its error is the news
	// (the transport's may word a cancellation otherwise), unless the
	// collection's deadline came first.
	ctxErr := func(err error) error {
		if err != nil && ctx != nil && ctx.Err() != nil && !Unfinished(err) {
			return ctx.Err()
		}
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, ctxErr(err)
	}
	defer resp.Body.Close()
	body, err := ReadBody(resp.Body)
	return resp, body, ctxErr(err)
}
