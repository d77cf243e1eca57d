package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/atomicfile"
)

// ErrNoCurrent is returned by Current when no incident has been started.
var ErrNoCurrent = errors.New("no current incident")

// ErrNoIncident is wrapped by the errors for an incident ID that names no
// incident in the store.
var ErrNoIncident = errors.New("no such incident")

// Store is a directory of incidents:
//
//	DIR/current                 the current incident's ID
//	DIR/ID/log.jsonl            the log, source of truth, append-only
//	DIR/ID/log.md               its Markdown rendering, regenerated
//	DIR/ID/evidence/            reports and snapshots attached
//
// Every method but Start, Current, Resolve and List takes a resolved ID:
// pass what the user typed through Resolve first.
type Store struct {
	Dir string

	// write writes an entry's line to the log; nil is f.Write. Tests put
	// a failing writer here to stand for a full disk.
	write func(f *os.File, line []byte) (int, error)
}

// StartOptions open an incident.
type StartOptions struct {
	Title, Severity, Impact, Author string
	Time                            time.Time
	// Recorded is when the start is written, when Time is earlier (--at).
	Recorded time.Time
	// Text is what the start entry says; "" says the title. (rca serve
	// lists the alerts that opened the incident, with their labels and
	// links.)
	Text string
	// KeepCurrent leaves the current incident as it is: rca serve opens
	// an incident for an alert while responders may be working on another.
	KeepCurrent bool
}

// Summary is one incident as listed.
type Summary struct {
	ID, Title, Severity string
	Status              Status
	Started             time.Time
	Entries             int
	Current             bool
}

const (
	currentName  = "current"
	logName      = "log.jsonl"
	markdownName = "log.md"
	evidenceName = "evidence"
)

// Start creates a new incident, writes its start entry, renders its Markdown
// and makes it the current incident. Once the log exists its ID is returned
// even with an error (rendering or setting the current incident failed).
func (s Store) Start(ctx context.Context, opt StartOptions) (string, error) {
	if err := s.checkDir(); err != nil {
		return "", err
	}
	title := strings.TrimSpace(opt.Title)
	if title == "" {
		return "", errors.New("the incident needs a title")
	}
	if opt.Time.IsZero() {
		return "", errors.New("the incident's start time is not set (pass the current time)")
	}
	sev, err := NormalizeSeverity(opt.Severity)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the incident folder %s: %w", s.Dir, pathErr(err))
	}

	// Mkdir fails on an existing folder, so two starts in the same minute
	// (even in two processes) never share an ID.
	base := NewID(opt.Time, title)
	var id string
	for n := 1; ; n++ {
		id = base
		if n > 1 {
			id += "-" + strconv.Itoa(n)
		}
		err := os.Mkdir(s.Path(id), 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || n >= 1000 {
			return "", fmt.Errorf("cannot create the incident folder %s: %w", s.Path(id), pathErr(err))
		}
	}
	text := strings.TrimSpace(opt.Text)
	if text == "" {
		text = title
	}
	start := Entry{
		Time: opt.Time, Recorded: opt.Recorded, Kind: KindStart, Author: opt.Author, Text: text,
		Title: title, Severity: sev, Impact: strings.TrimSpace(opt.Impact),
	}
	err = os.Mkdir(s.EvidenceDir(id), 0o755)
	if err == nil {
		_, err = s.append(ctx, id, os.O_CREATE|os.O_EXCL, start)
	}
	if err != nil {
		// Nothing refers to the half-made folder yet.
		os.RemoveAll(s.Path(id))
		return "", fmt.Errorf("the incident was not started, nothing was kept: %w", err)
	}
	// The new folder and log must survive a power cut with their entry.
	atomicfile.SyncDir(s.Path(id))
	atomicfile.SyncDir(s.Dir)
	// Current first: later notes must never land in the previous incident
	// because the cosmetic log.md could not be written.
	if !opt.KeepCurrent {
		if err := s.setCurrent(id); err != nil {
			return id, &StartedError{ID: id, Err: fmt.Errorf("could not make it the current incident: %w", err)}
		}
	}
	if err := s.Render(ctx, id); err != nil {
		return id, &StartedError{ID: id, Err: err, Current: !opt.KeepCurrent}
	}
	return id, nil
}

// StartedError is Start's error once the incident exists: its log holds the
// start entry, but making it current (Current false) or rendering log.md
// failed.
type StartedError struct {
	ID      string
	Current bool
	Err     error
}

func (e *StartedError) Error() string { return "started " + e.ID + ", but " + e.Err.Error() }
func (e *StartedError) Unwrap() error { return e.Err }

// Current is the current incident's ID, or ErrNoCurrent.
func (s Store) Current() (string, error) {
	if err := s.checkDir(); err != nil {
		return "", err
	}
	path := filepath.Join(s.Dir, currentName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s does not exist", ErrNoCurrent, path)
	}
	if err != nil {
		return "", fmt.Errorf("cannot read the current incident from %s: %w", path, pathErr(err))
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrNoCurrent, path)
	}
	if err := checkID(id); err != nil {
		return "", fmt.Errorf("%s: %w (start a new incident or write a valid ID into it)", path, err)
	}
	return id, nil
}

// Resolve turns "" or "current" into the current incident's ID and checks
// that the named incident exists.
func (s Store) Resolve(id string) (string, error) {
	if err := s.checkDir(); err != nil {
		return "", err
	}
	if id == "" || id == currentName {
		cur, err := s.Current()
		if err != nil {
			return "", err
		}
		if err := s.exists(cur); err != nil {
			return "", fmt.Errorf("the current incident (%s): %w", filepath.Join(s.Dir, currentName), err)
		}
		return cur, nil
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	return id, s.exists(id)
}

// Append adds one entry (fsync'd, under an exclusive file lock) and returns
// the byte offset just past it. It does not re-render the Markdown: call
// Render after.
func (s Store) Append(ctx context.Context, id string, e Entry) (int64, error) {
	if e.Time.IsZero() {
		return 0, fmt.Errorf("incident %s: the entry has no time", id)
	}
	if e.Kind == "" {
		return 0, fmt.Errorf("incident %s: the entry has no kind", id)
	}
	if err := s.checkDir(); err != nil {
		return 0, err
	}
	if err := checkID(id); err != nil {
		return 0, err
	}
	return s.append(ctx, id, 0, e)
}

// append writes e as one line with one write. A tail left without its
// newline by an earlier crash is closed with a '\n' first, so that the
// fragment stays a line of its own and e stays whole; existing bytes are
// never rewritten.
func (s Store) append(ctx context.Context, id string, flag int, e Entry) (int64, error) {
	line, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("incident %s: the entry cannot be encoded: %w", id, err)
	}
	line = append(line, '\n')
	if err := ctx.Err(); err != nil {
		return 0, err
	}

	path := s.logPath(id)
	// O_RDWR rather than O_WRONLY: the last byte is read back.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|flag, 0o644)
	if err != nil {
		return 0, s.openErr(id, "append to", err)
	}
	defer f.Close()
	if err := lockFile(f, true); err != nil {
		return 0, fmt.Errorf("cannot lock %s: %w", path, pathErr(err))
	}
	defer unlockFile(f)
	// The lock may have taken a while.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("cannot append to %s: %w", path, pathErr(err))
	}
	size := fi.Size()
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil {
			return 0, fmt.Errorf("cannot read the end of %s: %w", path, pathErr(err))
		}
		if last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	write := s.write
	if write == nil {
		write = (*os.File).Write
	}
	if _, err := write(f, line); err != nil {
		if flag&os.O_EXCL != 0 { // a new log: there is no next write, nothing before
			return 0, fmt.Errorf("cannot write the first entry of %s: %w", path, pathErr(err))
		}
		return 0, fmt.Errorf("cannot append to %s: %w (the next write starts a new line; nothing before is lost)", path, pathErr(err))
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("cannot flush %s to disk: %w", path, pathErr(err))
	}
	return size + int64(len(line)), nil
}

// Render regenerates DIR/ID/log.md from the log (atomically, under the lock).
func (s Store) Render(ctx context.Context, id string) error {
	if err := s.checkDir(); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	// The exclusive lock keeps appends out until log.md is in place, so
	// two renders cannot leave an older rendering last.
	f, err := s.openLocked(id, true)
	if err != nil {
		return err
	}
	defer f.Close()
	defer unlockFile(f)
	p, err := parseLog(ctx, f)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", s.logPath(id), pathErr(err))
	}
	var b bytes.Buffer
	if err := RenderMarkdown(&b, &Log{ID: id, Entries: p.Entries, Problems: p.Problems}); err != nil {
		return err
	}
	// Every writer of log.md holds this lock: a temporary file of it
	// found now was left by a process that died writing it.
	removeTemps(s.Path(id), markdownName, true, time.Now())
	removeStaleEvidence(s.EvidenceDir(id), time.Now())
	return writeAtomic(s.Path(id), markdownName, b.Bytes())
}

// Read reads the whole log back (under a shared lock).
func (s Store) Read(ctx context.Context, id string) (*Log, error) {
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	f, err := s.openLocked(id, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer unlockFile(f)
	p, err := parseLog(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", s.logPath(id), pathErr(err))
	}
	return &Log{ID: id, Entries: p.Entries, Problems: p.Problems}, nil
}

// ReadFrom reads the complete entries that start at or after byte offset
// off, and returns the offset just past the last complete one.
//
// Lines that are not entries are skipped, as Read does; an unterminated
// last line that is not a whole entry is left for a later call. The
// returned offset is where the next call should start.
func (s Store) ReadFrom(ctx context.Context, id string, off int64) ([]Entry, int64, error) {
	if err := s.checkDir(); err != nil {
		return nil, 0, err
	}
	if err := checkID(id); err != nil {
		return nil, 0, err
	}
	path := s.logPath(id)
	if off < 0 {
		return nil, 0, fmt.Errorf("cannot read %s from offset %d: offsets start at 0", path, off)
	}
	f, err := s.openLocked(id, false)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	defer unlockFile(f)
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read %s: %w", path, pathErr(err))
	}
	if off > fi.Size() {
		return nil, 0, fmt.Errorf("cannot read %s from offset %d: the file has only %d bytes (was it replaced? restart from 0)", path, off, fi.Size())
	}
	p, err := parseLog(ctx, io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read %s: %w", path, pathErr(err))
	}
	return p.Entries, off + p.End, nil
}

// List lists the incidents, newest first. A missing DIR holds none; an
// incident whose log cannot be read is still listed, with what its ID says.
func (s Store) List(ctx context.Context) ([]Summary, error) {
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	dirents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list the incidents in %s: %w", s.Dir, pathErr(err))
	}
	// A broken current file only loses the mark, not the list.
	cur, _ := s.Current()
	var out []Summary
	for _, d := range dirents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := d.Name()
		if !d.IsDir() || checkID(id) != nil {
			continue
		}
		if _, err := os.Stat(s.logPath(id)); err != nil {
			continue
		}
		sum := Summary{ID: id, Current: id == cur, Status: StatusInvestigating}
		sum.Started, _ = idTime(id)
		if l, err := s.Read(ctx, id); err == nil {
			sum.Entries = len(l.Entries)
			sum.Status = l.Status()
			if st, ok := l.Start(); ok {
				sum.Title, sum.Severity, sum.Started = st.Title, st.Severity, st.Time
			}
		}
		out = append(out, sum)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Line is the incident as one line of a list: * for the current one, ID,
// severity, status, start time and title.
func (in Summary) Line() string {
	mark, sev, started := " ", in.Severity, "-"
	if in.Current {
		mark = "*"
	}
	if sev == "" {
		sev = "-"
	}
	if !in.Started.IsZero() {
		started = in.Started.UTC().Format("2006-01-02 15:04")
	}
	return fmt.Sprintf("%s %-40s %-5s %-13s %-16s  %s", mark, in.ID, sev, in.Status, started, oneLine(in.Title))
}

// Path is the incident's folder; EvidenceDir its evidence folder. Neither
// checks the ID: pass one from Resolve or Start.
func (s Store) Path(id string) string        { return filepath.Join(s.Dir, id) }
func (s Store) EvidenceDir(id string) string { return filepath.Join(s.Dir, id, evidenceName) }

func (s Store) logPath(id string) string { return filepath.Join(s.Dir, id, logName) }

func (s Store) checkDir() error {
	if s.Dir == "" {
		return errors.New("no incident folder is set")
	}
	return nil
}

// exists checks that id has a log.
func (s Store) exists(id string) error {
	if _, err := os.Stat(s.logPath(id)); err != nil {
		return s.openErr(id, "read", err)
	}
	return nil
}

// openErr words a failure to open an incident's log; a missing log means
// the incident does not exist.
func (s Store) openErr(id, action string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &noIncidentError{id: id, dir: s.Dir}
	}
	return fmt.Errorf("cannot %s %s: %w", action, s.logPath(id), pathErr(err))
}

// noIncidentError is ErrNoIncident with the ID and the folder looked in.
type noIncidentError struct{ id, dir string }

func (e *noIncidentError) Error() string {
	return fmt.Sprintf("no incident %s in %s (rca log list shows them)", e.id, e.dir)
}

func (e *noIncidentError) Is(target error) bool { return target == ErrNoIncident }

// openLocked opens the log for reading and locks it.
func (s Store) openLocked(id string, exclusive bool) (*os.File, error) {
	f, err := os.Open(s.logPath(id))
	if err != nil {
		return nil, s.openErr(id, "read", err)
	}
	if err := lockFile(f, exclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s: %w", s.logPath(id), pathErr(err))
	}
	return f, nil
}

func (s Store) setCurrent(id string) error {
	removeTemps(s.Dir, currentName, false, time.Now())
	return writeAtomic(s.Dir, currentName, []byte(id+"\n"))
}

// writeAtomic replaces dir/name with data, so that readers see the old
// content or the new, never a mix.
func writeAtomic(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	}
	return nil
}

// pathErr drops the operation and path of a *fs.PathError: the messages
// above name the file themselves, once.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
