package gitfixture

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// PiSubject is the subject of the commit that started the demo incident.
const PiSubject = "compute pi to 10,000 places for the receipt footer"

// PiAuthor wrote it.
const PiAuthor = "Jerry"

// PiFiles are the files it changed.
var PiFiles = []string{"services/checkout/internal/receipt/footer.go", "services/checkout/internal/receipt/pi.go"}

// Shop is the repository a test made.
type Shop struct {
	Dir string
	// Pi is the full hash of the pi commit.
	Pi string
}

// NewShop writes the repository into a temporary directory: releases
// checkout/v1.4.1 and catalog/v2.3.0, then commits to cart, docs,
// checkout (the pi commit) and catalog, then checkout/v1.4.2 and
// catalog/v2.3.1. All times lie days before the demo window.
func NewShop(t testing.TB) Shop {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	commit := func(author, subject string, files ...string) string {
		t.Helper()
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(subject+"\n"+f+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := wt.Add(f); err != nil {
				t.Fatal(err)
			}
		}
		when = when.Add(7 * time.Hour)
		sig := &object.Signature{Name: author, Email: author + "@shop.example", When: when}
		h, err := wt.Commit(subject, &git.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	tag := func(name, hash string) {
		t.Helper()
		ref, err := repo.Head()
		if err != nil {
			t.Fatal(err)
		}
		if ref.Hash().String() != hash {
			t.Fatalf("tag %s: HEAD moved", name)
		}
		if _, err := repo.CreateTag(name, ref.Hash(), nil); err != nil {
			t.Fatal(err)
		}
	}
	first := commit("Ann", "initial shop", "services/checkout/main.go", "services/cart/main.go", "services/catalog/main.go", "docs/README.md")
	tag("checkout/v1.4.1", first)
	tag("catalog/v2.3.0", first)
	commit("Bob", "cart: retry once on 503 from payments", "services/cart/retry.go")
	commit("Ann", "docs: on-call runbook for checkout", "docs/runbook.md")
	pi := commit(PiAuthor, PiSubject, PiFiles...)
	last := commit("Jo", "reword the out-of-stock banner", "services/catalog/web/templates/stock_banner.tmpl")
	tag("checkout/v1.4.2", last)
	tag("catalog/v2.3.1", last)
	return Shop{Dir: dir, Pi: pi}
}
