package sourcetest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rca-tool/rca/internal/testhttp"
)

// Mode is how a Hostile server misbehaves.
type Mode string

// The modes of a Hostile server.
const (
	// Drip answers 200 and then a byte a second, never ending. Metadata
	// requests (label and series lists) are refused at once with a
	// Prometheus-style 400, so the data queries are asked and all drip.
	Drip Mode = "drip"
	// Endless answers 200 with a body that never ends.
	Endless Mode = "endless"
	// HugeLength announces a Content-Length of 1 TiB and sends a little.
	HugeLength Mode = "huge-content-length"
	// Redirect answers 307 to the same path and query on another host
	// (127.0.0.2, another loopback address), which records what it got
	// and answers 500 with all of it echoed.
	Redirect Mode = "redirect-other-host"
	// RateLimit answers every request 429 with Retry-After: 99999.
	RateLimit Mode = "429-storm"
	// Escapes answers 500 with terminal escapes (OSC title, clear screen,
	// RLO, BEL, newlines) in the reason phrase and the body, and the
	// request's path, query and headers echoed.
	Escapes Mode = "escape-errors"
)

// Modes are every mode of a Hostile server.
var Modes = []Mode{Drip, Endless, HugeLength, Redirect, RateLimit, Escapes}

// EscapeText is what Escapes puts in its answers; none of its control
// characters may reach a user.
const EscapeText = "\x1b]0;pwned-title\x07\x1b[2J\x1b[31mred\u202eevil\u202c\r\nsecond line\x1b[0m"

// DripEvery is how often Drip sends its next byte.
const DripEvery = time.Second

// Hostile is an httptest server that misbehaves as its Mode says.
type Hostile struct {
	Mode Mode
	URL  string

	srv, other *httptest.Server
	mu         sync.Mutex
	requests   int
	elsewhere  []string // what the other host of Redirect got: method, URL, headers
}

// NewHostile starts a server in mode on 127.0.0.1, and for Redirect a
// second one on 127.0.0.2 (the test is skipped where that address cannot
// be bound). Both close with the test.
func NewHostile(t testing.TB, mode Mode) *Hostile {
	t.Helper()
	h := &Hostile{Mode: mode}
	if mode == Redirect {
		l, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no second loopback address for another host: %v", err)
		}
		h.other = httptest.NewUnstartedServer(http.HandlerFunc(h.serveOther))
		h.other.Listener.Close()
		h.other.Listener = l
		h.other.Start()
		t.Cleanup(h.other.Close)
	}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	h.URL = h.srv.URL
	return h
}

// Requests is how many requests the server (not the other host) got.
func (h *Hostile) Requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

// Elsewhere is every request the other host of Redirect got, each as its
// method, URL and headers in one string.
func (h *Hostile) Elsewhere() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.elsewhere...)
}

func (h *Hostile) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests++
	h.mu.Unlock()
	switch h.Mode {
	case Drip:
		if isMetadata(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"status":"error","errorType":"bad_data","error":"metadata refused by the drip server"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		testhttp.Drip(w, r, DripEvery)
	case Endless:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":["`)
		_, _ = io.Copy(w, testhttp.Endless('x'))
	case HugeLength:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<40))
		_, _ = io.WriteString(w, `{"status":"success","data":[`)
	case Redirect:
		to := h.other.URL + r.URL.RequestURI()
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	case RateLimit:
		w.Header().Set("Retry-After", "99999")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case Escapes:
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s", EscapeText, r.Method, r.URL.RequestURI())
		for k, v := range r.Header {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
		// The reason phrase is the server's too: net/http writes the
		// status line itself, so a hijacked connection writes it here.
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, b.String(), http.StatusInternalServerError)
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := b.String()
		fmt.Fprintf(buf, "HTTP/1.1 500 Failed \x1b]0;reason\x07\u202eesrever\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		_ = buf.Flush()
	}
}

func (h *Hostile) serveOther(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Method, r.URL.RequestURI())
	for k, v := range r.Header {
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	fmt.Fprintf(&b, " body=%s", body)
	h.mu.Lock()
	h.elsewhere = append(h.elsewhere, b.String())
	h.mu.Unlock()
	http.Error(w, "echo from another host: "+b.String(), http.StatusInternalServerError)
}

// isMetadata: the label and series lists of the Prometheus and Loki APIs.
func isMetadata(path string) bool {
	return strings.Contains(path, "/label") || strings.HasSuffix(path, "/series")
}

// HasEscape reports whether s holds a character that drives a terminal
// or reorders text: a control character other than newline (which the
// caller judges), or a bidi control.
func HasEscape(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		if r == '\n' {
			return false
		}
		return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == '\u200e' || r == '\u200f' || r == '\u061c'
	})
}
