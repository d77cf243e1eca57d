package httpsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// retryTransport retries a request after a connection error, a 429 or a
// 502/503/504, with exponential backoff and jitter, honouring Retry-After.
// It gives up when the request's context ends: the query timeout bounds
// the retries too.
type retryTransport struct {
	next    http.RoundTripper
	retries int
	log     *slog.Logger
	redact  Redactor
	// base is the first backoff; zero means 250 ms.
	base time.Duration
}

// maxBackoff caps one wait, including a server's Retry-After.
const maxBackoff = 10 * time.Second

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	base := t.base
	if base == 0 {
		base = 250 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && req.Body != nil {
			if req.GetBody == nil {
				return nil, fmt.Errorf("cannot retry a request whose body cannot be replayed")
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if attempt >= t.retries || ctx.Err() != nil || !retryable(resp, err) {
			return resp, err
		}
		wait := backoff(base, attempt)
		reason := ""
		asked := false
		if err != nil {
			reason = t.redact.String(err.Error())
		} else {
			// The reason phrase is the server's text: it can echo anything.
			reason = t.redact.String(resp.Status)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait, asked = ra, true
			}
			// Drain a little so the connection can be reused, then close.
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			resp.Body.Close()
		}
		// A server's Retry-After past the query's timeout fails at once:
		// neither waiting nor retrying before it asked would help.
		need := min(wait, maxBackoff)
		if asked {
			need = wait
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < need {
			// Waiting would outlast the query's timeout: report this answer.
			if err != nil {
				return nil, err
			}
			return nil, &rateLimitedError{status: reason, wait: wait}
		}
		wait = min(wait, maxBackoff)
		t.log.Debug("retrying request", "path", req.URL.Path, "attempt", attempt+1, "of", t.retries, "reason", reason, "wait", wait.Round(time.Millisecond))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

// rateLimitedError is a 429 or 5xx whose Retry-After lies past the query
// timeout: the server answered, so it is busy rather than unreachable.
type rateLimitedError struct {
	status string
	wait   time.Duration
}

func (e *rateLimitedError) Error() string {
	return fmt.Sprintf("%s, and the server asked to wait %s, past the query timeout", e.status, waitWords(e.wait))
}

// Endpoint names a server in the errors about reaching it.
type Endpoint struct {
	Unreachable error  // the source's "X is unreachable"
	URL         string // without credentials
	Names       Names
	Timeout     time.Duration
	Redact      Redactor
}

// Describe words what went wrong on the way to the server, the same for
// every source, free of secrets; ok is false for errors it leaves to
// the caller (the server's own answers).
func (e Endpoint) Describe(ctx context.Context, err error, tooBigHint string) (error, bool) {
	var netErr net.Error
	var tooBig *tooLargeError
	var limited *rateLimitedError
	var late *runTimeoutError
	switch {
	case errors.As(err, &late):
		// The collection's time is up, not the server's: say so, and keep
		// the cause in the chain (Unfinished tells it from other errors).
		err = fmt.Errorf("%w at %s: %w", e.Unreachable, e.URL, &runTimeoutError{timeout: e.Timeout, field: e.Names.Field("timeout")})
	case errors.As(err, &tooBig):
		err = fmt.Errorf("%w — %s", tooBig, tooBigHint)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return err, true
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled):
		// The caller gave up while the last answer (a 503 to retry) was on
		// its way: the cancel is the news, not a timeout.
		return context.Canceled, true
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		err = fmt.Errorf("%w at %s: no answer within %s (%s)", e.Unreachable, e.URL, e.Timeout, e.Names.Field("timeout"))
	case errors.As(err, &limited):
		// The server answered: it is busy, not unreachable (a url.Error
		// around it would match net.Error below).
		err = fmt.Errorf("%w (%s)", limited, e.Names.Field("timeout"))
	case errors.As(err, &netErr), IsConnError(err):
		// The url.Error around it repeats the whole request URL; the cause is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("%w at %s: %v — check %s and that the server is up", e.Unreachable, e.URL, err, e.Names.Field("url"))
	default:
		return err, false
	}
	return e.Redact.Error(err), true
}

// IsConnError reports errors that mean no server answered.
func IsConnError(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &opErr) || errors.As(err, &dnsErr)
}

// retryable: connection errors (a server closing the connection without
// an answer included), rate limiting and overloaded or restarting
// servers. A 500 is a failed evaluation that will fail again.
func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return IsConnError(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is base·2^attempt with ±20% jitter, so concurrent queries that
// failed together do not retry together.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 8)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// maxRetryAfter bounds a parsed Retry-After, so seconds that overflow a
// Duration do not turn into a negative wait; it is never waited for (a
// wait past the timeout fails at once), only reported.
const maxRetryAfter = time.Duration(math.MaxInt64)

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(0, t.Sub(now)), maxRetryAfter), true
	}
	return 0, false
}

// waitWords words a wait a server asked for as it asked: "27h46m39s";
// one past what a Duration holds is "more than 290 years".
func waitWords(d time.Duration) string {
	if d >= maxRetryAfter {
		return "more than 290 years"
	}
	return d.Round(time.Millisecond).String()
}

// limitTransport caps response bodies: reading past limit fails with a
// tooLargeError instead of growing memory without bound.
type limitTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		return nil, &tooLargeError{limit: t.limit}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.limit, limit: t.limit}
	return resp, nil
}

type tooLargeError struct{ limit int64 }

// TooLarge reports whether err is a response body cut at
// max_response_bytes.
func TooLarge(err error) bool {
	var e *tooLargeError
	return errors.As(err, &e)
}

func (e *tooLargeError) Error() string {
	// In the largest unit that states the limit exactly: 1 KiB, 64 MiB.
	n, unit := e.limit, "bytes"
	for _, u := range []string{"KiB", "MiB", "GiB"} {
		if n < 1024 || n%1024 != 0 {
			break
		}
		n, unit = n/1024, u
	}
	return fmt.Sprintf("response larger than %d %s", n, unit)
}

type limitedBody struct {
	rc          io.ReadCloser
	left, limit int64
	err         error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			b.err = &tooLargeError{limit: b.limit}
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
