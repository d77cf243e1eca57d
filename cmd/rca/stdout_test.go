package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// errFull stands for a stdout that cannot take the output, as /dev/full
// (ENOSPC) or a closed pipe.
var errFull = errors.New("no space left on device")

// fullWriter fails every write, as `rca ... > /dev/full` does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errFull }

// rcaFull runs the command tree with a stdout that fails every write.
func rcaFull(t *testing.T, args ...string) result {
	t.Helper()
	var errb bytes.Buffer
	a := newApp(fullWriter{}, &errb, func() time.Time { return fixedNow })
	code := run(context.Background(), a.rootCmd(), args, &errb)
	return result{code: code, stderr: errb.String()}
}

// TestStdoutWriteFailure (defect 18): a failed write to stdout is a failure
// of the command: exit 1 and one line "rca: writing ...: <cause>".
func TestStdoutWriteFailure(t *testing.T) {
	needPiDigits(t)
	dir := filepath.Join(t.TempDir(), "incidents")
	inc := func(args ...string) []string { return append(args, "--incidents-dir", dir) }

	// log start prints the new ID on stdout.
	r := rcaFull(t, inc("log", "start", "--title", "Checkout 500s")...)
	wantWriteError(t, r, "log start")
	// The incident exists now: the rest read it.
	must(t, rca(t, inc("log", "note", "gateway", "timeouts")...), "log note")

	for _, args := range [][]string{
		inc("log", "list"),
		inc("log", "show"),
		inc("review", "--out", "-"),
		inc("review", "--out", filepath.Join(t.TempDir(), "review.md")),
		{"analyze", "--snapshot", piDigits},
		{"analyze", "--snapshot", piDigits, "-o", "json"},
		{"impact", "--snapshot", piDigits},
		{"version"},
	} {
		wantWriteError(t, rcaFull(t, args...), strings.Join(args, " "))
	}
}

func wantWriteError(t *testing.T, r result, what string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("%s: exit %d, want 1 (stderr %q)", what, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "rca: writing ") || !strings.Contains(lines[0], errFull.Error()) {
		t.Errorf("%s: stderr = %q, want a first line \"rca: writing ...: %v\"", what, r.stderr, errFull)
	}
	if n := strings.Count(r.stderr, "rca: "); n != 1 {
		t.Errorf("%s: %d error lines, want one: %q", what, n, r.stderr)
	}
}
