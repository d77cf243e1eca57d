package telemetry

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Window is a half-open time range [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration is the length of the window.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Contains reports whether t lies inside the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Overlaps reports whether the two windows share any instant.
func (w Window) Overlaps(o Window) bool { return w.From.Before(o.To) && o.From.Before(w.To) }

// Validate says what is wrong with the window, if anything.
func (w Window) Validate() error {
	switch {
	case w.From.IsZero() || w.To.IsZero():
		return errors.New("window needs both a start and an end")
	case !w.From.Before(w.To):
		return fmt.Errorf("window start %s is not before its end %s", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339))
	}
	return nil
}

func (w Window) String() string {
	return w.From.UTC().Format(time.RFC3339) + " .. " + w.To.UTC().Format(time.RFC3339)
}

// Span is a window in Unix nanoseconds (see Nanos), for testing sample
// times against it.
type Span struct{ From, To int64 }

// Nanos is the window in Unix nanoseconds.
func (w Window) Nanos() Span { return Span{Nanos(w.From), Nanos(w.To)} }

// Contains reports whether the sample time t lies inside the span, as
// Window.Contains does for its time.
func (s Span) Contains(t int64) bool { return t >= s.From && t < s.To }

// Point is one sample as a pair, for code that builds or reads a series
// a sample at a time (Series.WithPoints, Series.Point). A series keeps
// its samples as two columns, not as points.
type Point struct {
	T time.Time
	V float64
}

// The range of a sample's time: Unix nanoseconds, in an int64, from
// 1677-09-21 to 2262-04-11. The loaders refuse samples outside it.
var (
	MinTime = time.Unix(0, math.MinInt64+1).UTC()
	MaxTime = time.Unix(0, math.MaxInt64-1).UTC()
)

// InRange reports whether t can be a sample's time.
func InRange(t time.Time) bool { return !t.Before(MinTime) && !t.After(MaxTime) }

// Nanos is t in Unix nanoseconds, for comparing with sample times: a time
// outside the samples' range (a zero time, say) is clamped to the int64
// beyond that end, which compares with every sample time as t does.
func Nanos(t time.Time) int64 {
	switch {
	case t.Before(MinTime):
		return math.MinInt64
	case t.After(MaxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// TimeOf is the time of a sample time in Unix nanoseconds, in UTC.
func TimeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Labels is a set of label name/value pairs.
type Labels map[string]string

// String renders labels in Prometheus notation, sorted by name: {a="1",b="2"}.
func (l Labels) String() string {
	names := make([]string, 0, len(l))
	n := 2
	for k, v := range l {
		names = append(names, k)
		n += len(k) + len(v) + 4
	}
	slices.Sort(names)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, l[k]) // as %q writes it
	}
	b = append(b, '}')
	return string(b)
}

// Series is one metric series: a name, labels and samples sorted by time.
// The samples are two columns, Times and Values, sample i being
// (Times[i], Values[i]): no pointers for the garbage collector to scan.
// Series may share one Times column (a dataset's rows, which every full
// column of the table has): a series' columns are not written in place
// once it is built; sorting and merging make new ones.
type Series struct {
	// Metric is the metric name (the __name__ label) or, for a series that a
	// catalog query produced, the name of the catalog signal.
	Metric string
	Labels Labels
	// Signal is the catalog signal id that produced the series, if known.
	Signal string
	// Query is the PromQL or LogQL expression the series came from, if any.
	Query string
	// Times are the samples' times in Unix nanoseconds (see InRange).
	Times []int64
	// Values are the samples' values, as many as Times.
	Values []float64
}

// Len is the number of samples.
func (s Series) Len() int { return len(s.Times) }

// Time is the time of sample i, in UTC.
func (s Series) Time(i int) time.Time { return TimeOf(s.Times[i]) }

// Point is sample i as a pair.
func (s Series) Point(i int) Point { return Point{T: s.Time(i), V: s.Values[i]} }

// Points are the samples as pairs, a copy: for tests and the few places
// that chart a handful of series.
func (s Series) Points() []Point {
	if s.Len() == 0 {
		return nil
	}
	out := make([]Point, s.Len())
	for i := range out {
		out[i] = s.Point(i)
	}
	return out
}

// Append adds a sample at t (InRange) of value v.
func (s *Series) Append(t time.Time, v float64) {
	s.Times = append(s.Times, t.UnixNano())
	s.Values = append(s.Values, v)
}

// WithPoints is s with its samples replaced by pts, in their order (their
// times InRange).
func (s Series) WithPoints(pts ...Point) Series {
	s.Times, s.Values = nil, nil
	if len(pts) > 0 {
		s.Times, s.Values = make([]int64, 0, len(pts)), make([]float64, 0, len(pts))
	}
	for _, p := range pts {
		s.Append(p.T, p.V)
	}
	return s
}

// Rated reports whether the points are per-second rates the server
// computed from the counter Metric: the Query applies rate() (or irate())
// to Metric itself, as the live Prometheus source does for the counters
// the catalog does not know. Such a series must not be differentiated
// again. It reads the Query, so a snapshot replays it.
func (s Series) Rated() bool {
	return s.Metric != "" && strings.Contains(s.Query, "rate("+s.Metric+"[")
}

// ID is a stable identifier of the series: metric name and labels.
func (s Series) ID() string { return s.Metric + s.Labels.String() }

// LogLine is one log line with its stream labels.
type LogLine struct {
	T      time.Time
	Labels Labels
	Line   string
}

// ChangeKind says what sort of state change a Change is.
type ChangeKind string

// Change kinds.
const (
	ChangeDeploy  ChangeKind = "deploy"
	ChangeVersion ChangeKind = "version"
	ChangeConfig  ChangeKind = "config"
	ChangeRestart ChangeKind = "restart"
	ChangeCommit  ChangeKind = "commit"
	ChangeFlag    ChangeKind = "flag"
)

// Change is a state change of a service: a deploy, a version, a config edit, a restart.
type Change struct {
	T       time.Time `json:"time"`
	Service string    `json:"service"`
	// Host is the host or instance the change ran on, when known: the
	// change may then explain that host's anomalies (its disk, its CPU),
	// whoever's series show them.
	Host string     `json:"host,omitempty"`
	Kind ChangeKind `json:"kind"`
	// Summary is one human line, e.g. "deploy checkout v1.4.2".
	Summary     string   `json:"summary"`
	FromVersion string   `json:"from_version,omitempty"`
	ToVersion   string   `json:"to_version,omitempty"`
	Commit      string   `json:"commit,omitempty"`
	Author      string   `json:"author,omitempty"`
	Files       []string `json:"files,omitempty"`
	// Source says where the change was found (a query, a file, a repository).
	Source string `json:"source,omitempty"`
	// Commits are what a deploy or version change shipped that touches its
	// service, newest first, when a repository was read.
	Commits []Commit `json:"commits,omitempty"`
}

// Commit is one commit of a source repository.
type Commit struct {
	Hash    string    `json:"hash"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
	Files   []string  `json:"files,omitempty"`
}

// Edge is one call edge of the dependency graph: Caller calls Callee.
type Edge struct {
	Caller string `json:"caller"`
	Callee string `json:"callee"`
}

// Target is the signal an alert fired on, when the user knows it.
type Target struct {
	Service string `json:"service"`
	Metric  string `json:"metric,omitempty"`
}

// Bundle is everything a collector gathered for one incident.
type Bundle struct {
	Window   Window
	Baseline Window
	Series   []Series
	Logs     []LogLine
	Changes  []Change
	Edges    []Edge
	// Target is the alerting signal, if the user named one.
	Target *Target
	// Warnings are what a collector could not gather: the rest is still analysed.
	Warnings []string
}

// Earliest is the earlier of two times.
func Earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Latest is the later of two times.
func Latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
