package incident

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Attach files evidence in the incident, whole or not at all: write puts
// its files into a fresh folder, which becomes evidence/<time>-<kind> only
// once complete, and e, with the files written added to e.Files (relative
// to the incident's folder), is appended last. On any failure nothing is
// left behind: no half-written folder, no entry linking missing files.
//
// now names the folder (to the second, so attachments sort in the order
// they were made) and stamps e, when its Time is zero, just before the
// append. Attach returns the folder. It does not re-render the Markdown:
// call Render after.
func (s Store) Attach(ctx context.Context, id string, now func() time.Time, kind string, e Entry, write func(dir string) ([]string, error)) (dir string, err error) {
	if err := s.checkDir(); err != nil {
		return "", err
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	// What an earlier run killed half-way left behind, once it is surely abandoned.
	removeStaleEvidence(s.EvidenceDir(id), time.Now())
	// The final folder is made empty first, to reserve its name.
	final, rel, err := s.reserveEvidence(id, now().UTC().Format("20060102T150405Z")+"-"+kind)
	if err != nil {
		return "", err
	}
	recorded := false
	defer func() {
		if !recorded {
			os.RemoveAll(final)
		}
	}()
	tmp, err := os.MkdirTemp(filepath.Dir(final), ".partial-"+kind+"-")
	if err != nil {
		return "", fmt.Errorf("creating the evidence folder: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename
	files, err := write(tmp)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return "", err
	}
	// os.Rename never replaces a folder: free the reserved name first.
	if err := os.Remove(final); err != nil {
		return "", fmt.Errorf("moving the evidence into place: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("moving the evidence into place: %w", err)
	}
	for _, f := range files {
		e.Files = append(e.Files, rel+"/"+f)
	}
	if e.Time.IsZero() {
		e.Time = now().UTC()
	}
	if _, err := s.Append(ctx, id, e); err != nil {
		return "", err
	}
	recorded = true
	return final, nil
}

// maxEvidenceNames bounds the -2, -3, ... suffixes tried for one name.
const maxEvidenceNames = 1000

// reserveEvidence makes a new, empty folder evidence/<name>, or
// <name>-2, -3, ... when taken, and the evidence folder it goes in. rel is
// its slash-separated path in the incident's folder.
func (s Store) reserveEvidence(id, name string) (abs, rel string, err error) {
	parent := s.EvidenceDir(id)
	if err := ensureDir(parent); err != nil {
		return "", "", err
	}
	for i := 1; i <= maxEvidenceNames; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s-%d", name, i)
		}
		abs = filepath.Join(parent, n)
		err = os.Mkdir(abs, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue // taken: by a folder, a file or a link, dangling or not
		}
		if err != nil {
			return "", "", fmt.Errorf("creating the evidence folder: %w", err)
		}
		rel, _ = filepath.Rel(s.Path(id), abs)
		return abs, filepath.ToSlash(rel), nil
	}
	return "", "", fmt.Errorf("creating the evidence folder: %s and %d more names after it are taken — clear out %s", filepath.Join(parent, name), maxEvidenceNames-1, parent)
}

// ensureDir makes the folder dir, or checks that it is one. A dangling
// symbolic link there would make Mkdir say "exists" for ever.
func ensureDir(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		return nil
	}
	if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(dir)
		return fmt.Errorf("creating the evidence folder: %s is a symbolic link to %s, which is not a folder — remove the link or create its target", dir, target)
	}
	if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("creating the evidence folder: %s is not a folder — move it away", dir)
	}
	return fmt.Errorf("creating the evidence folder: %w", err)
}
