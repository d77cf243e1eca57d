// Package termui draws what rca shows only on a terminal: colour, a status
// line rewritten in place, a progress bar. Pipes and CI logs get none of it.
package termui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// WantsColor reports whether w is a terminal that wants colour
// (https://no-color.org).
func WantsColor(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && IsTerminal(w)
}

// StatusLine returns a function that rewrites one status line on w, or nil
// when w is not a terminal. Calling it with "" clears the line. It is safe
// to call from several goroutines.
func StatusLine(w io.Writer) func(string) {
	if !IsTerminal(w) {
		return nil
	}
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "\r\033[K%s", s)
	}
}

// ProgressBar returns a function that draws "[=====>    ] 80/160 cases" in
// place on w.
func ProgressBar(w io.Writer) func(done, total int) {
	const width = 30
	return func(done, total int) {
		if total <= 0 {
			return
		}
		n := done * width / total
		bar := strings.Repeat("=", n)
		if n < width {
			bar += ">" + strings.Repeat(" ", width-n-1)
		}
		fmt.Fprintf(w, "\r[%s] %d/%d cases", bar, done, total)
	}
}
