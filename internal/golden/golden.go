package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Assert compares got with the golden file at path; with -update it
// (re)writes the file first.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	assert(t, path, got, *update)
}

// assert is Assert with the flag passed in, so the helper's own tests can
// exercise -update without setting the package's flag.
func assert(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with %s)", err, updateCommand(t))
	}
	if bytes.Equal(got, want) {
		return
	}
	line, g, w := firstDiff(string(got), string(want))
	t.Errorf("%s differs from the output at line %d:\n  got:  %s\n  want: %s\n%s rewrites it; review the diff before committing",
		path, line, g, w, updateCommand(t))
}

// firstDiff returns the 1-based number of the first line where got and
// want differ, and both versions of it, quoted so that invisible
// differences (trailing space, \r) show. A line that is missing on one
// side is "(end of file)".
func firstDiff(got, want string) (line int, g, w string) {
	gl, wl := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	for i := 0; ; i++ {
		if i >= len(gl) || i >= len(wl) || gl[i] != wl[i] {
			g, gok := at(gl, i)
			w, wok := at(wl, i)
			g, w = excerpts(g, gok, w, wok)
			return i + 1, g, w
		}
	}
}

func at(lines []string, i int) (string, bool) {
	if i >= len(lines) || lines[i] == "" {
		return "", false
	}
	return lines[i], true
}

// maxExcerpt bounds the quoted line: golden HTML and JSON have lines of
// many kilobytes, and the difference is what matters.
const maxExcerpt = 160

// excerpts quotes both lines, cut to the same window around their first
// differing byte when they are long.
func excerpts(g string, gok bool, w string, wok bool) (string, string) {
	if !gok || !wok {
		return quote(g, gok, 0), quote(w, wok, 0)
	}
	col := 0
	for col < len(g) && col < len(w) && g[col] == w[col] {
		col++
	}
	start := max(0, col-maxExcerpt/2)
	return quote(g, true, start), quote(w, true, start)
}

// quote quotes s from byte start (moved back to a rune boundary) for at
// most maxExcerpt bytes, marking what was cut.
func quote(s string, ok bool, start int) string {
	if !ok {
		return "(end of file)"
	}
	for start > 0 && start < len(s) && !utf8.RuneStart(s[start]) {
		start--
	}
	start = min(start, len(s))
	end := min(len(s), start+maxExcerpt)
	for end < len(s) && !utf8.RuneStart(s[end]) {
		end++
	}
	q := fmt.Sprintf("%q", s[start:end])
	if start > 0 {
		q = fmt.Sprintf("(from byte %d) ...%s", start+1, q)
	}
	if end < len(s) {
		q += "..."
	}
	return q
}

// updateCommand is the command that rewrites the running test's goldens,
// e.g. go test ./report -run 'TestGolden/demo/text' -update.
func updateCommand(t testing.TB) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	run := strings.Join(parts, "/")
	if strings.ContainsFunc(run, func(r rune) bool { return !isShellSafe(r) }) {
		run = "'" + strings.ReplaceAll(run, "'", `'\''`) + "'"
	}
	return fmt.Sprintf("go test %s -run %s -update", packageDir(), run)
}

func isShellSafe(r rune) bool {
	return r == '/' || r == '_' || r == '-' || r == '.' || r == '#' ||
		'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// packageDir is the package under test as go test names it: the working
// directory (go test runs in the package's) relative to the module root.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}
