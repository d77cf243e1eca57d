package termui

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]interface{ Write([]byte) (int, error) }{"buffer": &bytes.Buffer{}, "file": f} {
		if IsTerminal(w) || WantsColor(w) || StatusLine(w) != nil {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	bar := ProgressBar(&b)
	bar(0, 0) // nothing to count: nothing drawn
	bar(15, 30)
	bar(30, 30)
	want := "\r[===============>              ] 15/30 cases\r[==============================] 30/30 cases"
	if b.String() != want {
		t.Errorf("bar = %q, want %q", b.String(), want)
	}
}
