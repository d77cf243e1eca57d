package incident

import (
	"context"
	"errors"
	"time"
)

// ErrNoCurrent is returned by Current when no incident has been started.
var ErrNoCurrent = errors.New("no current incident")

// Store is a directory of incidents:
//
//	DIR/current                 the current incident's ID
//	DIR/ID/log.jsonl            the log, source of truth, append-only
//	DIR/ID/log.md               its Markdown rendering, regenerated
//	DIR/ID/evidence/            reports and snapshots attached
type Store struct {
	Dir string
}

// StartOptions open an incident.
type StartOptions struct {
	Title, Severity, Impact, Author string
	Time                            time.Time
}

// Summary is one incident as listed.
type Summary struct {
	ID, Title, Severity string
	Status              Status
	Started             time.Time
	Entries             int
	Current             bool
}

// Start creates a new incident, writes its start entry, renders its Markdown
// and makes it the current incident.
func (s Store) Start(ctx context.Context, opt StartOptions) (string, error) {
	panic("not implemented")
}

// Current is the current incident's ID, or ErrNoCurrent.
func (s Store) Current() (string, error) { panic("not implemented") }

// Resolve turns "" or "current" into the current incident's ID and checks
// that the named incident exists.
func (s Store) Resolve(id string) (string, error) { panic("not implemented") }

// Append adds one entry (fsync'd, under an exclusive file lock) and returns
// the byte offset just past it. It does not re-render the Markdown: call
// Render after.
func (s Store) Append(ctx context.Context, id string, e Entry) (int64, error) {
	panic("not implemented")
}

// Render regenerates DIR/ID/log.md from the log (atomically, under the lock).
func (s Store) Render(ctx context.Context, id string) error { panic("not implemented") }

// Read reads the whole log back (under a shared lock).
func (s Store) Read(ctx context.Context, id string) (*Log, error) { panic("not implemented") }

// ReadFrom reads the complete entries that start at or after byte offset
// off, and returns the offset just past the last complete one.
func (s Store) ReadFrom(ctx context.Context, id string, off int64) ([]Entry, int64, error) {
	panic("not implemented")
}

// List lists the incidents, newest first.
func (s Store) List(ctx context.Context) ([]Summary, error) { panic("not implemented") }

// Path is the incident's folder; EvidenceDir its evidence folder.
func (s Store) Path(id string) string        { panic("not implemented") }
func (s Store) EvidenceDir(id string) string { panic("not implemented") }
