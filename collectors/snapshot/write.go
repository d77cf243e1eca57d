package snapshot

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors/internal/promapi"
	"github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/internal/atomicfile"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// Meta is what a snapshot records beyond the bundle: when and where
// from. The zero value writes neither, which keeps the bytes reproducible.
type Meta struct {
	Created time.Time
	// Prometheus and Loki are the base URLs queried. User info, query
	// strings and fragments are removed before writing, so tokens never land on disk.
	Prometheus string
	Loki       string
	// LogQuery is the LogQL the log lines were read with.
	LogQuery string
	// Catalog is the signal catalog file (--catalog) the data was read
	// with, verbatim; it is kept as catalog.yaml, so a re-analysis names
	// and measures the signals as the recording did. Nil: none.
	Catalog []byte
}

// catalogName is the file a recorded --catalog is kept in.
const catalogName = "catalog.yaml"

// Write records a bundle as a snapshot directory (see
// docs/snapshot.md). dir must be new, empty, or an earlier snapshot, which
// is replaced. The same bundle always gives the same bytes.
func Write(ctx context.Context, dir string, b telemetry.Bundle) error {
	return WriteMeta(ctx, dir, b, Meta{})
}

// WriteMeta is Write that also records when and where from.
func WriteMeta(ctx context.Context, dir string, b telemetry.Bundle, meta Meta) error {
	if err := write(ctx, dir, b, meta); err != nil {
		return fmt.Errorf("snapshot: write %s: %w", dir, err)
	}
	return nil
}

// file is one file of a snapshot, by slash-separated relative name.
type file struct {
	name string
	data []byte
}

func write(ctx context.Context, dir string, b telemetry.Bundle, meta Meta) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Encode everything before touching the disk, so bad input leaves no half snapshot.
	files, err := encode(b, meta)
	if err != nil {
		return err
	}
	root, old, err := prepareDir(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	// Every write and removal goes through root, so nothing outside dir is
	// touched; a symbolic link in place of a subfolder is refused outright,
	// before anything is written (os.Root would follow one that stays inside).
	for _, names := range [][]string{fileNames(files), old} {
		for _, name := range names {
			if err := checkNoLinkedParent(root, name); err != nil {
				return err
			}
		}
	}
	// files ends with the manifest: a reader never sees it before the files it names.
	keep := map[string]bool{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFileAtomic(root, f.name, f.data); err != nil {
			return err
		}
		keep[f.name] = true
	}
	// Remove only what the replaced manifest named and the new one does not.
	for _, name := range old {
		if keep[name] {
			continue
		}
		if err := root.Remove(filepath.FromSlash(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale file of the previous snapshot: %w", err)
		}
	}
	removeStaleTemps(root, append(fileNames(files), old...), time.Now())
	atomicfile.SyncDir(dir)
	return nil
}

// staleAge is how long a temporary file of an interrupted write must have
// been left untouched before a rewrite removes it: far longer than a write
// takes, so another writer's file is never taken from under it.
const staleAge = time.Hour

// removeStaleTemps removes the temporary files (.NAME.tmp-*) that a write
// killed half-way left beside the files named, once they are stale. Best
// effort: what cannot be removed stays for next time.
func removeStaleTemps(root *os.Root, names []string, now time.Time) {
	prefixes := map[string][]string{} // folder -> ".NAME.tmp-" of its files
	for _, n := range names {
		dir, base := path.Split(n)
		dir = path.Clean("./" + dir)
		prefixes[dir] = append(prefixes[dir], "."+base+".tmp-")
	}
	for dir, pre := range prefixes {
		d, err := root.Open(filepath.FromSlash(dir))
		if err != nil {
			continue
		}
		entries, _ := d.ReadDir(-1)
		d.Close()
		for _, e := range entries {
			if !e.Type().IsRegular() || !slices.ContainsFunc(pre, func(p string) bool { return strings.HasPrefix(e.Name(), p) }) {
				continue
			}
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) >= staleAge {
				root.Remove(filepath.Join(filepath.FromSlash(dir), e.Name()))
			}
		}
	}
}

func fileNames(files []file) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.name
	}
	return out
}

// checkNoLinkedParent refuses a snapshot file whose folders inside the
// snapshot (metrics/, logs/) are symbolic links or not folders: writing
// through one would put the snapshot, or remove a file, elsewhere.
func checkNoLinkedParent(root *os.Root, name string) error {
	parent := path.Dir(name)
	if parent == "." {
		return nil
	}
	p := ""
	for _, el := range strings.Split(parent, "/") {
		p = path.Join(p, el)
		fi, err := root.Lstat(filepath.FromSlash(p))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // created as a real folder when written
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link: rca writes a snapshot only into real folders inside --out — remove the link, or write to a new or empty folder",
				filepath.Join(root.Name(), filepath.FromSlash(p)))
		case !fi.IsDir():
			return fmt.Errorf("%s is not a folder — remove it, or write to a new or empty folder", filepath.Join(root.Name(), filepath.FromSlash(p)))
		}
	}
	return nil
}

// prepareDir makes sure dir can take a snapshot, opens it as the root every
// write goes through, and returns the files of the snapshot it replaces, if
// any.
func prepareDir(dir string) (*os.Root, []string, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	case !fi.IsDir():
		return nil, nil, fmt.Errorf("%w: it is a file — pass a new or empty folder", ErrNotSnapshot)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	old, err := previousFiles(root)
	if err != nil {
		root.Close()
		return nil, nil, err
	}
	return root, old, nil
}

// previousFiles lists the files of the snapshot in root, if there is one.
func previousFiles(root *os.Root) ([]string, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	entries, err := d.ReadDir(1)
	d.Close()
	if len(entries) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	data, _, err := readRegular(root, manifestName, maxManifestBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: the folder is not empty and has no %s — write to a new or empty folder", ErrNotSnapshot, manifestName)
	}
	if err != nil {
		return nil, err
	}
	old, err := decodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("the folder holds a %s this rca cannot replace (%w) — write to a new or empty folder", manifestName, err)
	}
	return old.files(), nil
}

// writeFileAtomic writes data to name in root through a temporary file and
// a rename, so a crash never leaves a half-written file. A symbolic link at
// name is replaced, never followed.
func writeFileAtomic(root *os.Root, name string, data []byte) (err error) {
	rel := filepath.FromSlash(name)
	if dir := filepath.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(filepath.Dir(rel), "."+filepath.Base(rel)+".tmp-"+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	if err := f.Chmod(0o644); err != nil { // whatever the umask, as atomicfile does
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	if err := root.Rename(tmp, rel); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(root.Name(), rel), err)
	}
	return nil
}

// encode renders a bundle as the files of a snapshot, manifest last.
func encode(b telemetry.Bundle, meta Meta) ([]file, error) {
	m := manifest{
		Schema:   Schema,
		Window:   utcWindow(b.Window),
		Baseline: utcWindow(b.Baseline),
		Sources:  manifestSources{Prometheus: httpsource.RedactURL(meta.Prometheus), Loki: httpsource.RedactURL(meta.Loki)},
		Metrics:  []metricEntry{},
		Logs:     []logEntry{},
		Warnings: slices.Clone(b.Warnings),
	}
	if !meta.Created.IsZero() {
		m.Created = meta.Created.UTC().Truncate(time.Second)
	}
	if b.Target != nil {
		t := *b.Target
		m.Target = &t
	}
	if err := validateWindows(m.Window, m.Baseline); err != nil {
		return nil, err
	}

	var files []file
	metrics, err := encodeMetrics(b, &m)
	if err != nil {
		return nil, err
	}
	files = append(files, metrics...)

	if len(b.Logs) > 0 {
		data, err := loki.EncodeStreams(b.Logs)
		if err != nil {
			return nil, err
		}
		from, to := b.Logs[0].T, b.Logs[0].T
		for _, l := range b.Logs {
			from, to = telemetry.Earliest(from, l.T), telemetry.Latest(to, l.T)
		}
		name := "logs/0001.json"
		m.Logs = append(m.Logs, logEntry{Query: meta.LogQuery, Start: from.UTC(), End: to.UTC(), Limit: len(b.Logs), File: name})
		files = append(files, file{name, data})
	}

	changes := slices.Clone(b.Changes)
	for i := range changes {
		changes[i].T = changes[i].T.UTC()
	}
	telemetry.SortChanges(changes)
	edges := normalizeEdges(slices.Clone(b.Edges))
	if changes == nil {
		changes = []telemetry.Change{}
	}
	if edges == nil {
		edges = []telemetry.Edge{}
	}
	if meta.Catalog != nil {
		m.Catalog = catalogName
		files = append(files, file{catalogName, slices.Clone(meta.Catalog)})
	}
	m.Changes, m.Topology = "changes.json", "topology.json"
	for _, f := range []struct {
		name string
		v    any
	}{{m.Changes, changes}, {m.Topology, edges}, {manifestName, m}} {
		data, err := strictjson.MarshalIndent(f.v)
		if err != nil {
			return nil, err
		}
		files = append(files, file{f.name, data})
	}
	return files, nil
}

// metricGroup is the series that go into one metrics file.
type metricGroup struct {
	signal, query, metric string
	series                []telemetry.Series
}

// encodeMetrics writes one file per (signal, query); series without a
// query are split by metric name so each file stays one thing.
func encodeMetrics(b telemetry.Bundle, m *manifest) ([]file, error) {
	groups := map[[3]string]*metricGroup{}
	var order []*metricGroup
	for _, s := range b.Series {
		k := [3]string{s.Signal, s.Query, ""}
		if s.Query == "" {
			k[2] = s.Metric
		}
		g, ok := groups[k]
		if !ok {
			g = &metricGroup{signal: k[0], query: k[1], metric: k[2]}
			groups[k] = g
			order = append(order, g)
		}
		g.series = append(g.series, s)
	}
	slices.SortFunc(order, func(a, c *metricGroup) int {
		return cmp.Or(cmp.Compare(a.signal, c.signal), cmp.Compare(a.query, c.query), cmp.Compare(a.metric, c.metric))
	})

	var files []file
	for i, g := range order {
		telemetry.SortSeries(g.series)
		streams := make([]*model.SampleStream, 0, len(g.series))
		var from, to time.Time
		var times [][]time.Time
		for _, s := range g.series {
			// __name__ only when it says more than the signal; an aggregate has none.
			ss, err := promapi.SeriesToStream(s, s.Metric != s.Signal && s.Metric != "")
			if err != nil {
				return nil, err
			}
			streams = append(streams, ss)
			ts := make([]time.Time, len(ss.Values))
			for j, p := range ss.Values {
				t := time.UnixMilli(int64(p.Timestamp)).UTC()
				ts[j] = t
				if from.IsZero() || t.Before(from) {
					from = t
				}
				if to.IsZero() || t.After(to) {
					to = t
				}
			}
			times = append(times, ts)
		}
		if from.IsZero() {
			from, to = bundleRange(b)
		}
		data, err := promapi.EncodeMatrix(streams)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("metrics/%04d.json", i+1)
		m.Metrics = append(m.Metrics, metricEntry{
			Signal: g.signal, Query: g.query, Start: from, End: to, Step: stepOf(times), File: name,
		})
		files = append(files, file{name, data})
	}
	return files, nil
}

// bundleRange is the range a query would cover: baseline start to window end.
func bundleRange(b telemetry.Bundle) (time.Time, time.Time) {
	from := b.Window.From
	if !b.Baseline.From.IsZero() {
		from = telemetry.Earliest(from, b.Baseline.From)
	}
	return from.UTC(), telemetry.Latest(b.Window.To, b.Baseline.To).UTC()
}

// stepOf guesses the query step as the most common gap between samples
// (the smaller on a tie); "" when no series has two samples.
func stepOf(series [][]time.Time) string {
	count := map[time.Duration]int{}
	for _, ts := range series {
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d > 0 {
				count[d]++
			}
		}
	}
	var best time.Duration
	for d, n := range count {
		if n > count[best] || (n == count[best] && d < best) {
			best = d
		}
	}
	if best <= 0 {
		return ""
	}
	return model.Duration(best).String()
}
