// Package testhttp holds what the fake HTTP servers of more than one
// package's tests share: misbehaving answers (a body that drips, one that
// never ends) and a record of the requests served. It imports only the
// standard library, so any package's tests can use it.
package testhttp

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Drip answers 200 (with whatever headers w already has) and then a
// space every interval, never ending, until the client goes away. White
// space keeps a JSON decoder waiting for more.
func Drip(w http.ResponseWriter, r *http.Request, every time.Duration) {
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := io.WriteString(w, " "); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

// Endless is a reader of the byte it is, without end.
type Endless byte

func (b Endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// Recorder keeps a copy of every request a test server got; a fake
// server embeds it and calls Record as it serves.
type Recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

// Record keeps a copy of r.
func (rec *Recorder) Record(r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r.Clone(context.Background()))
	rec.mu.Unlock()
}

// Requests are the requests recorded, in the order they came.
func (rec *Recorder) Requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}
