package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/rca-tool/rca/collectors"
)

// Source replays a recorded snapshot: everything it holds, over the
// window and baseline it was recorded with unless the request names
// others (the series are the same, the comparison is not).
type Source struct {
	Dir string
	Log *slog.Logger
}

// Name is the source's name in errors.
func (s Source) Name() string { return "snapshot" }

// Collect reads the snapshot.
func (s Source) Collect(ctx context.Context, _ collectors.Request) (collectors.Part, error) {
	if err := checkDir(s.Dir); err != nil {
		return collectors.Part{}, err
	}
	start := time.Now()
	b, err := Read(ctx, s.Dir)
	if err != nil {
		return collectors.Part{}, fmt.Errorf("reading %w", err) // Read's errors start "snapshot: <dir>"
	}
	if s.Log != nil {
		s.Log.Debug("read snapshot", "dir", s.Dir, "window", b.Window.String(), "baseline", b.Baseline.String(),
			"series", len(b.Series), "logs", len(b.Logs), "changes", len(b.Changes), "edges", len(b.Edges), "took", time.Since(start))
	}
	return collectors.Part{Bundle: b}, nil
}

// checkDir gives a clear error for a snapshot path that is not there, before
// the reader is asked.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("snapshot %s does not exist: want a directory recorded by rca, e.g. testdata/incidents/pi-digits", dir)
	case err != nil:
		return fmt.Errorf("snapshot: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("snapshot %s is not a directory", dir)
	}
	return nil
}

// MetaFrom is what a snapshot records of where its data came from.
func MetaFrom(created time.Time, origins []collectors.Origin) Meta {
	m := Meta{Created: created}
	for _, o := range origins {
		switch o.Source {
		case "prometheus":
			m.Prometheus = o.URL
		case "loki":
			m.Loki, m.LogQuery = o.URL, o.Query
		}
	}
	return m
}
