package httpsource

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rca-tool/rca/internal/testhttp"
)

// fakeRT answers requests from a script, recording the bodies it got.
type fakeRT struct {
	mu     sync.Mutex
	bodies []string
	answer func(n int) (*http.Response, error)
}

func (f *fakeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	var body string
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		body = string(b)
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	n := len(f.bodies)
	f.mu.Unlock()
	return f.answer(n)
}

func (f *fakeRT) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func response(code int, header http.Header, body string) *http.Response {
	if header == nil {
		header = http.Header{}
	}
	return &http.Response{
		StatusCode: code, Status: http.StatusText(code), Header: header,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
	}
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}

func newPost(t testing.TB, ctx context.Context) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://prometheus/api/v1/query_range", strings.NewReader("query=up&step=30"))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRetryTransport(t *testing.T) {
	t.Parallel()
	ra := func(v string) http.Header { return http.Header{"Retry-After": []string{v}} }
	tests := []struct {
		name     string
		retries  int
		answer   func(n int) (*http.Response, error)
		calls    int
		wantCode int
		wantErr  string
	}{
		{"success", 3, func(int) (*http.Response, error) { return response(200, nil, "ok"), nil }, 1, 200, ""},
		{"429 then success", 3, func(n int) (*http.Response, error) {
			if n == 1 {
				return response(429, ra("0"), "slow"), nil
			}
			return response(200, nil, "ok"), nil
		}, 2, 200, ""},
		{"refused twice then success", 3, func(n int) (*http.Response, error) {
			if n <= 2 {
				return nil, errRefused
			}
			return response(200, nil, "ok"), nil
		}, 3, 200, ""},
		{"EOF then success", 3, func(n int) (*http.Response, error) {
			if n == 1 {
				return nil, io.EOF
			}
			return response(200, nil, "ok"), nil
		}, 2, 200, ""},
		{"502 503 504 then success", 3, func(n int) (*http.Response, error) {
			if n <= 3 {
				return response([]int{502, 503, 504}[n-1], ra("0"), "busy"), nil
			}
			return response(200, nil, "ok"), nil
		}, 4, 200, ""},
		{"503 beyond the retries returns the last answer", 2, func(int) (*http.Response, error) { return response(503, ra("0"), "busy"), nil }, 3, 503, ""},
		{"refused beyond the retries", 1, func(int) (*http.Response, error) { return nil, errRefused }, 2, 0, "connection refused"},
		{"no retries", 0, func(int) (*http.Response, error) { return response(503, ra("0"), "busy"), nil }, 1, 503, ""},
		{"500 is final", 3, func(int) (*http.Response, error) { return response(500, nil, "oops"), nil }, 1, 500, ""},
		{"400 is final", 3, func(int) (*http.Response, error) { return response(400, nil, "bad"), nil }, 1, 400, ""},
		{"other errors are final", 3, func(int) (*http.Response, error) { return nil, errors.New("x509: unknown authority") }, 1, 0, "x509"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeRT{answer: tc.answer}
			rt := &retryTransport{next: f, retries: tc.retries, log: slog.New(slog.DiscardHandler), base: time.Millisecond}
			resp, err := rt.RoundTrip(newPost(t, context.Background()))
			if f.calls() != tc.calls {
				t.Errorf("%d calls, want %d", f.calls(), tc.calls)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			// Every attempt sent the whole body.
			for i, b := range f.bodies {
				if b != "query=up&step=30" {
					t.Errorf("attempt %d sent body %q", i+1, b)
				}
			}
		})
	}
}

func TestRetryTransportWaits(t *testing.T) {
	t.Parallel()
	t.Run("Retry-After past the deadline fails at once", func(t *testing.T) {
		t.Parallel()
		f := &fakeRT{answer: func(int) (*http.Response, error) {
			return response(429, http.Header{"Retry-After": []string{"120"}}, "slow"), nil
		}}
		rt := &retryTransport{next: f, retries: 3, log: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := rt.RoundTrip(newPost(t, ctx))
		if resp != nil {
			resp.Body.Close()
		}
		if time.Since(start) > time.Second || f.calls() != 1 {
			t.Errorf("took %s and %d calls, want an immediate answer", time.Since(start), f.calls())
		}
		var rl *rateLimitedError
		if !errors.As(err, &rl) || !strings.Contains(err.Error(), "asked to wait 2m0s") {
			t.Errorf("err = %v, want the server's wait", err)
		}
	})
	t.Run("a connection error with a backoff past the deadline", func(t *testing.T) {
		t.Parallel()
		f := &fakeRT{answer: func(int) (*http.Response, error) { return nil, errRefused }}
		rt := &retryTransport{next: f, retries: 3, log: slog.New(slog.DiscardHandler), base: time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := rt.RoundTrip(newPost(t, ctx))
		if !errors.Is(err, errRefused) || time.Since(start) > time.Second {
			t.Errorf("err = %v after %s, want the connection error at once", err, time.Since(start))
		}
	})
	t.Run("cancel during the backoff", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f := &fakeRT{answer: func(int) (*http.Response, error) {
			r := response(503, http.Header{"Retry-After": []string{"5"}}, "busy")
			// The transport closes the answer just before it waits.
			r.Body = onClose{r.Body, cancel}
			return r, nil
		}}
		rt := &retryTransport{next: f, retries: 3, log: slog.New(slog.DiscardHandler)}
		start := time.Now()
		_, err := rt.RoundTrip(newPost(t, ctx))
		if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second || f.calls() != 1 {
			t.Errorf("err = %v after %s and %d calls, want context.Canceled at once", err, time.Since(start), f.calls())
		}
	})
	t.Run("a body that cannot be replayed", func(t *testing.T) {
		t.Parallel()
		f := &fakeRT{answer: func(int) (*http.Response, error) {
			return response(503, http.Header{"Retry-After": []string{"0"}}, ""), nil
		}}
		rt := &retryTransport{next: f, retries: 3, log: slog.New(slog.DiscardHandler)}
		req := newPost(t, context.Background())
		req.GetBody = nil
		_, err := rt.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), "cannot be replayed") || f.calls() != 1 {
			t.Errorf("err = %v, %d calls", err, f.calls())
		}
	})
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"1", time.Second, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", maxRetryAfter, true},
		{"Tue, 24 Nov 2026 14:00:30 GMT", 30 * time.Second, true},
		{"Tue, 24 Nov 2026 13:00:00 GMT", 0, true},
		{"Tuesday, 24-Nov-26 14:01:00 GMT", time.Minute, true},
	}
	for _, tc := range tests {
		got, ok := retryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if got < 0 {
			t.Errorf("retryAfter(%q) is negative", tc.in)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	base := 250 * time.Millisecond
	for attempt := range 20 {
		want := base << min(attempt, 8)
		for range 50 {
			got := backoff(base, attempt)
			if got < want*8/10 || got > want*12/10 {
				t.Fatalf("backoff(%d) = %s, want %s ±20%%", attempt, got, want)
			}
		}
	}
}

func TestLimitTransport(t *testing.T) {
	t.Parallel()
	const limit = 2048
	tests := []struct {
		name    string
		body    string
		length  int64 // -1: unknown
		wantErr bool
	}{
		{"small", "hello", 5, false},
		{"exactly the limit", strings.Repeat("a", limit), limit, false},
		{"exactly the limit, unknown length", strings.Repeat("a", limit), -1, false},
		{"one byte more, unknown length", strings.Repeat("a", limit+1), -1, true},
		{"far more, unknown length", strings.Repeat("a", 10*limit), -1, true},
		{"announced too large", "short", 10 * limit, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			closed := false
			f := &fakeRT{answer: func(int) (*http.Response, error) {
				r := response(200, nil, tc.body)
				r.ContentLength = tc.length
				r.Body = closeNotifier{r.Body, &closed}
				return r, nil
			}}
			rt := &limitTransport{next: f, limit: limit}
			resp, err := rt.RoundTrip(newPost(t, context.Background()))
			var got []byte
			if err == nil {
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			var tooBig *tooLargeError
			if tc.wantErr != errors.As(err, &tooBig) {
				t.Fatalf("err = %v, want too large: %v", err, tc.wantErr)
			}
			if !closed {
				t.Error("body not closed")
			}
			if tc.wantErr {
				if err.Error() != "response larger than 2 KiB" {
					t.Errorf("message %q", err)
				}
				if len(got) > limit {
					t.Errorf("read %d bytes", len(got))
				}
				return
			}
			if string(got) != tc.body {
				t.Errorf("read %d bytes, want %d", len(got), len(tc.body))
			}
		})
	}
	// An endless body ends at the limit.
	rt := &limitTransport{next: &fakeRT{answer: func(int) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(testhttp.Endless('x')), ContentLength: -1}, nil
	}}, limit: limit}
	resp, err := rt.RoundTrip(newPost(t, context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if n > limit || err == nil {
		t.Errorf("read %d bytes of an endless body, err %v", n, err)
	}
}

func TestTooLargeMessage(t *testing.T) {
	t.Parallel()
	for limit, want := range map[int64]string{
		1024:            "response larger than 1 KiB",
		1536:            "response larger than 1536 bytes",
		1 << 20:         "response larger than 1 MiB",
		64 << 20:        "response larger than 64 MiB",
		(1 << 20) + 512: "response larger than 1049088 bytes",
		1 << 30:         "response larger than 1 GiB",
	} {
		if got := (&tooLargeError{limit: limit}).Error(); got != want {
			t.Errorf("limit %d: %q, want %q", limit, got, want)
		}
	}
}

type closeNotifier struct {
	io.ReadCloser
	closed *bool
}

func (c closeNotifier) Close() error { *c.closed = true; return c.ReadCloser.Close() }

type onClose struct {
	io.ReadCloser
	f func()
}

func (c onClose) Close() error { c.f(); return c.ReadCloser.Close() }

// The headers are set on a copy: the caller's request is not changed.
func TestHeaderTransport(t *testing.T) {
	t.Parallel()
	var got http.Header
	rt := &headerTransport{next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Clone()
		return response(200, nil, ""), nil
	}), headers: map[string]string{"X-Scope-OrgID": "t1", "X-Api-Key": "k"}}
	req := newPost(t, context.Background())
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Scope-OrgID") != "t1" || got.Get("X-Api-Key") != "k" {
		t.Errorf("sent headers %v", got)
	}
	if req.Header.Get("X-Api-Key") != "" {
		t.Error("the caller's request was modified")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A caller that cancels while a retryable answer is on its way is told it
// cancelled, not that the server gave no answer within the timeout.
func TestDescribeCallerCancel(t *testing.T) {
	e := Endpoint{Unreachable: errors.New("test is unreachable"), URL: "http://127.0.0.1:1", Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, ok := e.Describe(ctx, errors.New("503 Service Unavailable"), "")
	if !ok || !errors.Is(got, context.Canceled) || strings.Contains(got.Error(), "no answer within") {
		t.Errorf("Describe = %v, %v; want context.Canceled", got, ok)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), -time.Second)
	defer dcancel()
	got, _ = e.Describe(dctx, errors.New("503 Service Unavailable"), "")
	if !strings.Contains(got.Error(), "no answer within 30s") {
		t.Errorf("Describe after the timeout = %v, want it to say no answer within 30s", got)
	}
}
