package httpsource

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/internal/testhttp"
)

// Issue 17, defect 11: a Retry-After is reported as the server asked,
// not cut to a day.
func TestRetryAfterReportedAsAsked(t *testing.T) {
	for in, want := range map[string]string{
		"99999":               "27h46m39s",
		"120":                 "2m0s",
		"9223372036854775807": "more than 290 years",
	} {
		d, ok := retryAfter(in, time.Now())
		if !ok {
			t.Fatalf("retryAfter(%q) not ok", in)
		}
		msg := (&rateLimitedError{status: "429 Too Many Requests", wait: d}).Error()
		if !strings.Contains(msg, "asked to wait "+want+",") {
			t.Errorf("Retry-After %s: %q, want %s", in, msg, want)
		}
	}
}

// Issue 17, defect 13: an endless body under the size cap costs about the
// cap, not the several times that doubling buffers (io.ReadAll,
// bytes.Buffer as client_golang reads) cost before the cap stops them.
func TestReadBodyEndlessCostsTheCap(t *testing.T) {
	const limit = 16 << 20
	rt := &limitTransport{limit: limit, next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(testhttp.Endless('x')), ContentLength: -1, Header: http.Header{}}, nil
	})}
	hc := &http.Client{Transport: rt}
	client, err := NewAPIClient("http://prometheus", hc)
	if err != nil {
		t.Fatal(err)
	}
	var tooBig *tooLargeError
	read := func() {
		req, _ := http.NewRequest(http.MethodGet, "http://prometheus/api/v1/query", nil)
		if _, _, err := client.Do(context.Background(), req); !errors.As(err, &tooBig) {
			t.Fatalf("err = %v, want the cap's", err)
		}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit*5/4 {
		t.Errorf("reading an endless body under a %d MiB cap allocated %d MiB", limit>>20, got>>20)
	}
	// A body under the cap is read whole, once.
	body, err := ReadBody(io.LimitReader(testhttp.Endless('x'), 3<<20+5))
	if err != nil || len(body) != 3<<20+5 {
		t.Errorf("ReadBody: %d bytes, %v", len(body), err)
	}
}

// Issue 17, defect 6: within a collection (RunContext), the timeout bounds
// all of a source's requests together: slow answers do not add up.
func TestRunDeadlineBoundsTheCollection(t *testing.T) {
	drip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		testhttp.Drip(w, r, 100*time.Millisecond)
	}))
	defer drip.Close()
	c := New(drip.URL)
	c.Timeout = model.Duration(500 * time.Millisecond)
	c.Retries = -1
	c, err := c.Check("test")
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.Client(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := RunContext(context.Background())
	start := time.Now()
	for range 4 { // each would take the timeout alone
		qctx, cancel := context.WithTimeout(ctx, time.Duration(c.Timeout))
		req, _ := http.NewRequestWithContext(qctx, http.MethodGet, drip.URL, nil)
		resp, err := hc.Do(req)
		if err == nil {
			_, err = ReadBody(resp.Body)
			resp.Body.Close()
		}
		cancel()
		if !Unfinished(err) {
			t.Errorf("err = %v, want one the collection's deadline cut off", err)
		}
		d, ok := c.Endpoint(errors.New("test is unreachable"), nil).Describe(qctx, err, "")
		if !ok || !strings.Contains(d.Error(), "not finished within 500ms, the time the whole collection may take (timeout)") {
			t.Errorf("described as %v", d)
		}
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("four requests took %s under a 500ms timeout", took)
	}
	if got := RunFailures(ctx); got != "4 x not finished in time" {
		t.Errorf("RunFailures = %q", got)
	}
}
