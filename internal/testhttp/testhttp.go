// Package testhttp holds the misbehaving HTTP answers that tests of more
// than one package serve: a body that drips and one that never ends. It
// imports only the standard library, so any package's tests can use it.
package testhttp

import (
	"io"
	"net/http"
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
