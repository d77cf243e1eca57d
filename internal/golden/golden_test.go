package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records failures instead of failing the real test, so the
// failure paths of assert can be checked. Fatal stops its goroutine, as
// the real one does.
type fakeTB struct {
	testing.TB // the real test, for whatever the fake does not replace
	name       string
	errors     []string
	fatal      bool
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return f.name }

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatal(args ...any) {
	f.errors = append(f.errors, fmt.Sprint(args...))
	f.fatal = true
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

// check runs assert against a fake test named name and returns what it
// reported.
func check(t *testing.T, name, path, got string, update bool) *fakeTB {
	t.Helper()
	f := &fakeTB{TB: t, name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		assert(f, path, []byte(got), update)
	}()
	<-done
	return f
}

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMatchPasses(t *testing.T) {
	path := write(t, "a\nb\n")
	if f := check(t, "TestX", path, "a\nb\n", false); len(f.errors) > 0 {
		t.Errorf("equal output reported: %q", f.errors)
	}
}

func TestMismatch(t *testing.T) {
	tests := []struct {
		name, got, want string
		wantMsg         []string
	}{
		{"changed line", "a\nb\nc\n", "a\nB\nc\n",
			[]string{"at line 2:", `got:  "b\n"`, `want: "B\n"`}},
		{"extra line", "a\nb\n", "a\n",
			[]string{"at line 2:", `got:  "b\n"`, "want: (end of file)"}},
		{"missing line", "a\n", "a\nb\n",
			[]string{"at line 2:", "got:  (end of file)", `want: "b\n"`}},
		{"final newline", "a", "a\n",
			[]string{"at line 1:", `got:  "a"`, `want: "a\n"`}},
		{"carriage return", "a\r\n", "a\n",
			[]string{"at line 1:", `got:  "a\r\n"`}},
		{"long line", strings.Repeat("x", 1000) + "GOT" + strings.Repeat("y", 1000), strings.Repeat("x", 1000) + "WANT" + strings.Repeat("y", 1000),
			[]string{"at line 1:", "(from byte 921) ...\"xxx", `xGOTyy`, `xWANTyy`, `y"...`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.want)
			f := check(t, "TestX/sub_case", path, tt.got, false)
			if len(f.errors) != 1 || f.fatal {
				t.Fatalf("want one non-fatal error, got %q (fatal %v)", f.errors, f.fatal)
			}
			msg := f.errors[0]
			for _, w := range append(tt.wantMsg, path, "go test ./internal/golden -run TestX/sub_case -update") {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if len(msg) > 1000 {
				t.Errorf("message is %d bytes; a long line should be cut:\n%s", len(msg), msg)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.golden")
	f := check(t, "TestY", path, "a\n", false)
	if !f.fatal || len(f.errors) != 1 {
		t.Fatalf("want one fatal error, got %q (fatal %v)", f.errors, f.fatal)
	}
	for _, w := range []string{path, "create it with go test ./internal/golden -run TestY -update"} {
		if !strings.Contains(f.errors[0], w) {
			t.Errorf("message lacks %q:\n%s", w, f.errors[0])
		}
	}
}

func TestUpdateWrites(t *testing.T) {
	for _, old := range []string{"", "stale\n"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "testdata", "new.golden")
		if old != "" {
			path = write(t, old)
		}
		if f := check(t, "TestZ", path, "fresh\n", true); len(f.errors) > 0 {
			t.Fatalf("update reported %q", f.errors)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "fresh\n" {
			t.Errorf("after update %s holds %q, %v; want %q", path, b, err, "fresh\n")
		}
	}
}

func TestUpdateCommandQuotes(t *testing.T) {
	f := &fakeTB{TB: t, name: "TestA/x(1)+y's"}
	want := `go test ./internal/golden -run 'TestA/x\(1\)\+y'\''s' -update`
	if got := updateCommand(f); got != want {
		t.Errorf("updateCommand = %s, want %s", got, want)
	}
}
