package devsets

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestDirs(t *testing.T) {
	if got := Dirs([]string{"x", "y"}); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("Dirs(x, y) = %v, want them as given", got)
	}
	got := Dirs(nil)
	if len(got) != len(Names) || got[1] != filepath.Join("..", "shared", "datasets", "petshop") {
		t.Errorf("Dirs() = %v, want the dev sets under ../shared/datasets", got)
	}
}
