// Package sourcetest is the conformance kit every HTTP source runs (as
// Alertmanager's notifiers share notify/test): secrets never shown, a
// cancelled collection stops at once, a busy server's Retry-After is
// honoured, responses are capped, an unreachable server is one line, and
// a hostile server (Hostile: drip, endless, huge Content-Length, redirect
// to another host, 429 storm, escape-laden errors) costs bounded time and
// memory, learns no secret on another host, and puts no terminal escape
// in what rca says.
package sourcetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/testhttp"
)

// HTTP is an HTTP source under test.
type HTTP struct {
	// New builds the source from its HTTP settings; log takes its -v output.
	New func(t testing.TB, cfg httpsource.Config, log *slog.Logger) collectors.Source
	// Request is what to collect: a range and a catalog the source reads.
	Request collectors.Request
	// Unreachable is the error the source wraps when no server answered.
	Unreachable error
}

// Secrets the kit puts in the settings; none may appear in any output.
const (
	password    = "kit-password-5e3c"
	token       = "kit-token-9a1f77"
	headerValue = "kit-header-41d2c0"
)

// Run runs every check of the kit.
func Run(t *testing.T, h HTTP) {
	t.Run("SecretsNeverShown", func(t *testing.T) { secretsNeverShown(t, h) })
	t.Run("StopsOnCancel", func(t *testing.T) { stopsOnCancel(t, h) })
	t.Run("HonoursRetryAfter", func(t *testing.T) { honoursRetryAfter(t, h) })
	t.Run("CapsResponses", func(t *testing.T) { capsResponses(t, h) })
	t.Run("UnreachableIsOneLine", func(t *testing.T) { unreachableIsOneLine(t, h) })
	for _, mode := range Modes {
		t.Run("Hostile/"+string(mode), func(t *testing.T) { hostile(t, h, mode) })
	}
}

// settings are the source's HTTP settings for a server at url.
func settings(url string, edit func(*httpsource.Config)) httpsource.Config {
	c := httpsource.New(url)
	c.Timeout = model.Duration(5 * time.Second)
	c.Retries = -1
	if edit != nil {
		edit(&c)
	}
	return c
}

// outcome is everything a user could read of one collection: the error,
// the warnings and the -v log.
type outcome struct {
	part collectors.Part
	err  error
	text string
	took time.Duration
}

func collect(ctx context.Context, t *testing.T, h HTTP, cfg httpsource.Config) outcome {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src := h.New(t, cfg, log)
	start := time.Now()
	p, err := src.Collect(ctx, h.Request)
	o := outcome{part: p, err: err, took: time.Since(start)}
	var text strings.Builder
	if err != nil {
		text.WriteString(err.Error() + "\n")
	}
	for _, w := range p.Warnings {
		text.WriteString(w + "\n")
	}
	text.WriteString(logs.String())
	o.text = text.String()
	return o
}

// secretsNeverShown: a server that echoes every header and the URL back
// in its errors, asked with basic auth, a bearer token and a secret
// header, leaves no secret in the error, the warnings or the -v log; nor
// does a password in the URL of a server that cannot be reached.
func secretsNeverShown(t *testing.T, h HTTP) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, "echo %s %s", r.Method, r.URL)
		for k, v := range r.Header {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
		http.Error(w, b.String(), http.StatusInternalServerError)
	}))
	defer echo.Close()
	for name, edit := range map[string]func(*httpsource.Config){
		"basic auth": func(c *httpsource.Config) {
			c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: "kit", Password: config.Secret(password)}
		},
		"bearer token and header": func(c *httpsource.Config) {
			c.HTTPClientConfig.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(token)}
			c.Headers = map[string]string{"X-Api-Key": headerValue}
		},
	} {
		o := collect(context.Background(), t, h, settings(echo.URL, edit))
		if o.text == "" {
			t.Errorf("%s: nothing said about a server that answers 500", name)
		}
		assertNoSecret(t, name, o.text)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	url := strings.Replace(closed.URL, "http://", "http://kit:"+password+"@", 1)
	o := collect(context.Background(), t, h, settings(url, nil))
	assertNoSecret(t, "password in the URL", o.text)
}

func assertNoSecret(t *testing.T, name, text string) {
	t.Helper()
	for _, s := range []string{password, token, headerValue} {
		if strings.Contains(text, s) {
			t.Errorf("%s: a secret is shown:\n%s", name, text)
		}
	}
}

// stopsOnCancel: cancelling a collection whose server never answers ends
// it at once with the cancellation, not after the timeout.
func stopsOnCancel(t *testing.T, h HTTP) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	cfg := settings(hang.URL, func(c *httpsource.Config) { c.Timeout = model.Duration(time.Minute) })
	o := collect(ctx, t, h, cfg)
	if !errors.Is(o.err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", o.err)
	}
	if o.took > 5*time.Second {
		t.Errorf("took %s after the cancellation", o.took)
	}
}

// honoursRetryAfter: a request answered 429 with Retry-After: 1 is asked
// again, no sooner than a second later.
func honoursRetryAfter(t *testing.T, h HTTP) {
	var mu sync.Mutex
	asked := map[string][]time.Time{} // by request: sources ask several at once
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // a POSTed query is told apart by its form
		key := r.URL.Path + "?" + r.Form.Encode()
		mu.Lock()
		asked[key] = append(asked[key], time.Now())
		first := len(asked[key]) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer busy.Close()
	cfg := settings(busy.URL, func(c *httpsource.Config) {
		c.Retries = 1
		c.Timeout = model.Duration(10 * time.Second)
	})
	collect(context.Background(), t, h, cfg)
	mu.Lock()
	defer mu.Unlock()
	retried := 0
	for u, times := range asked {
		if len(times) < 2 {
			continue
		}
		retried++
		if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
			t.Errorf("%s retried after %s, before the server's Retry-After of 1s", u, gap)
		}
	}
	if retried == 0 {
		t.Errorf("no 429 was retried (%d requests)", len(asked))
	}
}

// capsResponses: a response past max_response_bytes is refused with a
// message that says so, and the source does not read on.
func capsResponses(t *testing.T, h HTTP) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, io.LimitReader(testhttp.Endless('x'), 1<<20))
	}))
	defer big.Close()
	o := collect(context.Background(), t, h, settings(big.URL, func(c *httpsource.Config) { c.MaxResponseBytes = 1024 }))
	if !strings.Contains(o.text, "response larger than 1 KiB") {
		t.Errorf("a 1 MiB answer under a 1 KiB cap:\n%s", o.text)
	}
}

// unreachableIsOneLine: a closed port is one line that says the server is
// unreachable, where, and what to check; as an error it wraps the
// source's Unreachable.
func unreachableIsOneLine(t *testing.T, h HTTP) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	o := collect(context.Background(), t, h, settings(closed.URL, nil))
	msg := o.text
	if o.err != nil {
		msg = o.err.Error()
		if !errors.Is(o.err, h.Unreachable) {
			t.Errorf("err = %v, want it to wrap %v", o.err, h.Unreachable)
		}
	} else if len(o.part.Warnings) > 0 {
		msg = o.part.Warnings[0]
	}
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "unreachable at "+closed.URL) || !strings.Contains(msg, "check url") {
		t.Errorf("unreachable server: %q, want one line naming it and what to check", msg)
	}
}

// memMu serialises the memory measurements of the sources' kits, which
// run in parallel.
var memMu sync.Mutex

// hostile runs a collection, as rca does (collectors.Collect), against a
// Hostile server in mode, with basic auth and a secret header, and checks
// what a user could see: bounded time, bounded memory, no secret on
// another host, no terminal escape in the error or a warning, each one
// line.
func hostile(t *testing.T, h HTTP, mode Mode) {
	// Short where the server stalls, so the kit stays quick; long where
	// the client works (-race reads an endless body slowly).
	timeout := 2 * time.Second
	if mode != Drip && mode != RateLimit {
		timeout = 15 * time.Second
	}
	const maxBody = 8 << 20
	srv := NewHostile(t, mode)
	cfg := settings(srv.URL, func(c *httpsource.Config) {
		c.Timeout = model.Duration(timeout)
		c.Retries = 3
		c.MaxResponseBytes = maxBody
		c.HTTPClientConfig.BasicAuth = &config.BasicAuth{Username: "kit", Password: config.Secret(password)}
		c.Headers = map[string]string{"X-Api-Key": headerValue}
	})
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src := h.New(t, cfg, log)
	if mode == Endless {
		memMu.Lock()
		defer memMu.Unlock()
		runtime.GC()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	b, _, err := collectors.Collect(context.Background(), []collectors.Source{src}, h.Request)
	took := time.Since(start)
	runtime.ReadMemStats(&after)

	shown := b.Warnings
	if err != nil {
		shown = append([]string{err.Error()}, shown...)
	}
	text := strings.Join(shown, "\n") + "\n" + logs.String()
	// Bounded time: the timeout bounds the whole collection.
	if limit := timeout + 1500*time.Millisecond; took > limit {
		t.Errorf("took %s, want at most %s (timeout %s)", took.Round(time.Millisecond), limit, timeout)
	}
	assertNoSecret(t, string(mode), text)
	for _, line := range shown {
		if strings.Contains(line, "\n") || HasEscape(line) {
			t.Errorf("not one clean line: %q", line)
		}
	}
	if len(shown) == 0 {
		t.Errorf("nothing said about a %s server", mode)
	}
	switch mode {
	case Drip:
		if !strings.Contains(text, "within "+timeout.String()) {
			t.Errorf("a dripping server: nothing says what did not finish within the timeout:\n%s", text)
		}
	case Endless, HugeLength:
		if !strings.Contains(text, "response larger than 8 MiB") {
			t.Errorf("an endless answer under an 8 MiB cap:\n%s", text)
		}
		if mode == Endless {
			// Bounded memory: a body cut off at the cap costs about the
			// cap, not the several times doubling buffers cost.
			n := max(1, srv.Requests())
			per := (after.TotalAlloc - before.TotalAlloc) / uint64(n)
			if per > maxBody*3/2+1<<20 {
				t.Errorf("%d MiB allocated per request (%d requests) under an 8 MiB cap", per>>20, n)
			}
		}
	case Redirect:
		for _, got := range srv.Elsewhere() {
			assertNoSecret(t, "another host got", got)
			if strings.Contains(strings.ToLower(got), "authorization") {
				t.Errorf("another host got credentials: %s", got)
			}
		}
	case RateLimit:
		if !strings.Contains(text, "27h46m39s") {
			t.Errorf("Retry-After: 99999 is not reported as asked (27h46m39s):\n%s", text)
		}
	}
	if strings.Contains(text, "check the window") && mode != Drip {
		t.Errorf("a failing server is blamed on the window:\n%s", text)
	}
}
