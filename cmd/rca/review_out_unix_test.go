//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestReviewOutToStreams: rca review --out names a device, a pipe or
// /dev/stdout as a stream to write to, not a draft the team may have
// edited: no --force needed. A file there still needs it.
func TestReviewOutToStreams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "incidents")
	inc := func(args ...string) []string { return append(args, "--incidents-dir", dir) }
	must(t, rca(t, inc("log", "start", "--title", "checkout 500s")...), "log start")

	r := rca(t, inc("review", "--out", os.DevNull)...)
	if r.code != 0 || r.stdout != os.DevNull+"\n" {
		t.Errorf("review --out %s: exit %d, stdout %q, stderr %q; want it written without --force", os.DevNull, r.code, r.stdout, r.stderr)
	}

	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no named pipes here:", err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	r = rca(t, inc("review", "--out", fifo)...)
	if r.code != 0 {
		t.Fatalf("review --out PIPE: exit %d, stderr %q", r.code, r.stderr)
	}
	if text := <-got; !strings.Contains(text, "checkout 500s") {
		t.Errorf("the pipe read %q, want the review", text)
	}

	file := writeFile(t, t.TempDir(), "review.md", "the team's edits")
	wantOneLineError(t, rca(t, inc("review", "--out", file)...), 1, "already exists and may hold the team's edits: pass --force")
}
