// Package collectors turns an incident window into a telemetry.Bundle: from
// a recorded snapshot on disk, a live Prometheus or Loki, or a labelled dataset.
package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// ErrNotSnapshot is a path that is not a snapshot folder: a file, a folder
// without manifest.json, or (when writing) a non-empty folder of other files.
var ErrNotSnapshot = errors.New("not a snapshot folder")

// Read loads a snapshot directory (see docs/snapshot.md) into a
// bundle. Series come back sorted by ID, logs by time then labels, changes
// by time, edges by caller and callee; times are UTC.
func Read(ctx context.Context, dir string) (telemetry.Bundle, error) {
	return readCapped(ctx, dir, maxTotalBytes)
}

// readCapped is Read with limit in place of maxTotalBytes.
func readCapped(ctx context.Context, dir string, limit int64) (telemetry.Bundle, error) {
	b, err := read(ctx, dir, limit)
	if err != nil {
		return telemetry.Bundle{}, fmt.Errorf("snapshot: %w", err)
	}
	return b, nil
}

// maxTotalBytes caps what the files a manifest lists may add up to: rca's
// own recordings are far smaller, and a hand-made or hostile manifest must
// not make a re-analysis take minutes and gigabytes.
const maxTotalBytes = 1 << 30

// maxManifestBytes caps manifest.json itself.
const maxManifestBytes = 64 << 20

func read(ctx context.Context, dir string, limit int64) (telemetry.Bundle, error) {
	if err := ctx.Err(); err != nil {
		return telemetry.Bundle{}, err
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return telemetry.Bundle{}, fmt.Errorf("open %s: %w — pass the folder that holds manifest.json", dir, notFound("no such directory"))
	case err != nil:
		return telemetry.Bundle{}, err
	case !fi.IsDir():
		return telemetry.Bundle{}, fmt.Errorf("open %s: %w: it is a file — pass the folder that holds manifest.json", dir, ErrNotSnapshot)
	}
	// os.Root keeps every read inside dir, even through symbolic links.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return telemetry.Bundle{}, err
	}
	defer root.Close()

	mpath := filepath.Join(dir, manifestName)
	data, _, err := readRegular(root, manifestName, maxManifestBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return telemetry.Bundle{}, fmt.Errorf("open %s: %w: no %s in it — pass the folder that holds manifest.json (see docs/snapshot.md)", dir, ErrNotSnapshot, manifestName)
	}
	if err != nil {
		return telemetry.Bundle{}, fmt.Errorf("%s: %w", mpath, err)
	}
	m, err := decodeManifest(data)
	if err != nil {
		return telemetry.Bundle{}, fmt.Errorf("%s: %w", mpath, err)
	}

	r := reader{ctx: ctx, root: root, dir: dir, mpath: mpath, budget: &limit, limit: limit, seen: new([]seenFile)}
	b := telemetry.Bundle{
		Window:   utcWindow(m.Window),
		Baseline: utcWindow(m.Baseline),
		Warnings: slices.Clone(m.Warnings),
	}
	if m.Target != nil {
		t := *m.Target
		b.Target = &t
	}
	if b.Series, err = r.series(m.Metrics, &b.Warnings); err != nil {
		return telemetry.Bundle{}, err
	}
	if b.Logs, err = r.logs(m.Logs, &b.Warnings); err != nil {
		return telemetry.Bundle{}, err
	}
	if m.Changes != "" {
		if err := r.readJSON("changes", m.Changes, &b.Changes); err != nil {
			return telemetry.Bundle{}, err
		}
		for i := range b.Changes {
			b.Changes[i].T = b.Changes[i].T.UTC()
		}
		telemetry.SortChanges(b.Changes)
	}
	if m.Topology != "" {
		if err := r.readJSON("topology", m.Topology, &b.Edges); err != nil {
			return telemetry.Bundle{}, err
		}
		b.Edges = normalizeEdges(b.Edges)
	}
	return b, nil
}

// maxCatalogBytes caps a recorded catalog file.
const maxCatalogBytes = 16 << 20

// Catalog returns the signal catalog file recorded in the snapshot in dir
// (see Meta.Catalog) and its path, or nil and "" when it has none. A
// folder whose manifest cannot be read has none here: Read says why.
func Catalog(ctx context.Context, dir string) (data []byte, path string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", nil
	}
	defer root.Close()
	mpath := filepath.Join(dir, manifestName)
	raw, _, err := readRegular(root, manifestName, maxManifestBytes)
	if err != nil {
		return nil, "", nil
	}
	m, err := decodeManifest(raw)
	if err != nil {
		return nil, "", nil
	}
	if m.Catalog == "" {
		return nil, "", nil
	}
	r := reader{ctx: ctx, root: root, dir: dir, mpath: mpath, budget: new(int64), limit: maxCatalogBytes, seen: new([]seenFile)}
	*r.budget = maxCatalogBytes
	data, err = r.read("catalog", m.Catalog)
	if err != nil {
		return nil, "", fmt.Errorf("snapshot: %w", err)
	}
	return data, r.path(m.Catalog), nil
}

// reader reads the files a manifest points at.
type reader struct {
	ctx   context.Context
	root  *os.Root
	dir   string
	mpath string
	// budget is how many more bytes the listed files may add up to, of limit.
	budget *int64
	limit  int64
	// seen are the files read so far.
	seen *[]seenFile
}

// read returns one file, checking ctx first since a snapshot can hold many.
func (r reader) read(field, name string) ([]byte, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	data, fi, err := readRegular(r.root, name, *r.budget)
	var tooBig *tooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %s %s: %w — fix the path in the manifest or capture the file again",
			r.mpath, field, strconv.Quote(name), notFound("file does not exist"))
	case errors.As(err, &tooBig):
		return nil, fmt.Errorf("%s: the files it lists add up to more than %s (at %s %s) — this is not a snapshot rca recorded; list fewer or smaller files",
			r.mpath, byteSize(r.limit), field, strconv.Quote(name))
	case errors.As(err, new(*notRegularError)):
		return nil, fmt.Errorf("%s: %s %s: %w", r.mpath, field, strconv.Quote(name), err)
	case err != nil:
		return nil, fmt.Errorf("%s: %s: %w", r.mpath, field, err)
	}
	// A link or a hard link is the same file under another name: reading
	// it again would repeat its series as a repeated entry would.
	for _, prev := range *r.seen {
		if os.SameFile(prev.fi, fi) {
			return nil, fmt.Errorf("%s: %s %s is the same file as %s %s — list each file once",
				r.mpath, field, strconv.Quote(name), prev.field, strconv.Quote(prev.name))
		}
	}
	*r.seen = append(*r.seen, seenFile{field: field, name: name, fi: fi})
	*r.budget -= int64(len(data))
	return data, nil
}

// seenFile is a file the reader has read, by the entry that named it.
type seenFile struct {
	field, name string
	fi          fs.FileInfo
}

// tooLargeError is a file larger than what is left of the read budget.
type tooLargeError struct{ limit int64 }

func (e *tooLargeError) Error() string { return "larger than " + byteSize(e.limit) }

// notRegularError is a listed path that is not a regular file: a named
// pipe would block the read forever, a device would never end.
type notRegularError struct{ mode fs.FileMode }

func (e *notRegularError) Error() string {
	what := "not a regular file"
	switch {
	case e.mode.IsDir():
		what = "a folder"
	case e.mode&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case e.mode&fs.ModeDevice != 0, e.mode&fs.ModeCharDevice != 0:
		what = "a device"
	case e.mode&fs.ModeSocket != 0:
		what = "a socket"
	}
	return "it is " + what + ", not a regular file — a snapshot holds only regular files; put the recorded file there"
}

// readRegular reads name in root, at most limit bytes. Anything but a
// regular file is refused before a byte is read: it is opened without
// blocking (a named pipe with no writer would otherwise hang the open,
// deaf to Ctrl-C) and checked on the open file, so it cannot be swapped
// in between.
func readRegular(root *os.Root, name string, limit int64) ([]byte, fs.FileInfo, error) {
	rel := filepath.FromSlash(name)
	if fi, err := root.Stat(rel); err != nil {
		return nil, nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, nil, &notRegularError{fi.Mode()}
	}
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, &notRegularError{fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, nil, &tooLargeError{limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > limit {
		return nil, nil, &tooLargeError{limit}
	}
	return data, fi, nil
}

// byteSize writes n bytes for people: 1 GiB, 64 MiB, 512 bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

func (r reader) path(name string) string {
	return filepath.Join(r.dir, filepath.FromSlash(name))
}

func (r reader) readJSON(field, name string, v any) error {
	data, err := r.read(field, name)
	if err != nil {
		return err
	}
	if err := strictjson.Decode(data, v); err != nil {
		return fmt.Errorf("%s: %w", r.path(name), err)
	}
	return nil
}

// seriesKey is what makes two recorded series the same series: a query
// recorded twice (baseline range and window range) merges into one.

func (r reader) series(entries []metricEntry, warnings *[]string) ([]telemetry.Series, error) {
	groups := make([][]telemetry.Series, 0, len(entries))
	for i, e := range entries {
		got, err := decodeFile(r, fmt.Sprintf("metrics[%d].file", i), e.File, promapi.DecodeMatrix, warnings)
		if err != nil {
			return nil, err
		}
		for i := range got {
			if got[i].Metric == "" {
				// An aggregated query (sum by ...) has no __name__: the catalog signal names it.
				got[i].Metric = e.Signal
			}
			got[i].Signal, got[i].Query = e.Signal, e.Query
		}
		groups = append(groups, got)
	}
	return telemetry.MergeSeries(groups), nil
}

func (r reader) logs(entries []logEntry, warnings *[]string) ([]telemetry.LogLine, error) {
	var out []telemetry.LogLine
	for i, e := range entries {
		got, err := decodeFile(r, fmt.Sprintf("logs[%d].file", i), e.File, loki.DecodeStreams, warnings)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	telemetry.SortLogs(out)
	// Overlapping ranges repeat lines; Loki itself drops identical entries of a stream.
	return slices.CompactFunc(out, func(a, b telemetry.LogLine) bool { return telemetry.CompareLogs(a, b) == 0 }), nil
}

// decodeFile reads file, named by field, and decodes it; the decoder's
// notes are added to warnings, each after the file's name.
func decodeFile[T any](r reader, field, file string, decode func([]byte) ([]T, []string, error), warnings *[]string) ([]T, error) {
	data, err := r.read(field, file)
	if err != nil {
		return nil, err
	}
	got, notes, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.path(file), err)
	}
	for _, n := range notes {
		*warnings = append(*warnings, file+": "+n)
	}
	return got, nil
}

// normalizeEdges sorts edges and drops repeats: the graph has no multi-edges.
func normalizeEdges(e []telemetry.Edge) []telemetry.Edge {
	slices.SortFunc(e, func(a, b telemetry.Edge) int {
		return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Callee, b.Callee))
	})
	return slices.Compact(e)
}

func utcWindow(w telemetry.Window) telemetry.Window {
	if isZeroWindow(w) {
		return telemetry.Window{}
	}
	return telemetry.Window{From: w.From.UTC(), To: w.To.UTC()}
}

func isZeroWindow(w telemetry.Window) bool { return w.From.IsZero() && w.To.IsZero() }

// notFound is the text of a missing path; it matches fs.ErrNotExist so
// callers can test for it with errors.Is.
type notFound string

func (e notFound) Error() string      { return string(e) }
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }
