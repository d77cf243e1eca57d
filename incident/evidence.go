package incident

import (
	"context"
	"errors"
	"fmt"
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

// reserveEvidence makes a new, empty folder evidence/<name>, or
// <name>-2, -3, ... when taken, and the evidence folder it goes in. rel is
// its slash-separated path in the incident's folder.
func (s Store) reserveEvidence(id, name string) (abs, rel string, err error) {
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s-%d", name, i)
		}
		abs = filepath.Join(s.EvidenceDir(id), n)
		err = os.MkdirAll(filepath.Dir(abs), 0o755)
		if err == nil {
			err = os.Mkdir(abs, 0o755)
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("creating the evidence folder: %w", err)
		}
		rel, _ = filepath.Rel(s.Path(id), abs)
		return abs, filepath.ToSlash(rel), nil
	}
}
