// Package dataset loads the labelled incident datasets of ../shared/datasets
// (format version 1, see its README): each case becomes a telemetry.Bundle,
// so that scoring runs the same code path a live incident does. The label
// (fault, root_cause) goes only into Case, never into the Bundle.
package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// Case is one labelled incident of a dataset.
type Case struct {
	ID     string
	System string
	// FaultType and Truth are the label, for scoring only: a ranker sees Bundle.
	FaultType string
	Truth     Truth
	// FaultFree marks a case of normal operation (format 1.1: fault and
	// root_cause null): the right answer is that nothing stands out, and
	// Truth and FaultType are empty.
	FaultFree bool
	Bundle    telemetry.Bundle
}

// Truth is the labelled root cause. Metric is "" when the source has none.
type Truth struct {
	Service string
	Metric  string
}

// caseFile is case.json. Fields a ranker must not see are kept apart by
// LoadCase; unknown extra fields (source, fault.command ...) are ignored.
type caseFile struct {
	ID     string `json:"id"`
	System string `json:"system"`
	Fault  *struct {
		Type string `json:"type"`
	} `json:"fault"`
	// RootCause is null on a fault-free case.
	RootCause *struct {
		Service string  `json:"service"`
		Metric  *string `json:"metric"`
	} `json:"root_cause"`
	Window   *caseRange `json:"window"`
	Baseline *caseRange `json:"baseline"`
	Target   *struct {
		Service string `json:"service"`
		Metric  string `json:"metric"`
	} `json:"target"`
}

type caseRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

func (r *caseRange) window() telemetry.Window {
	return telemetry.Window{From: time.Unix(r.From, 0).UTC(), To: time.Unix(r.To, 0).UTC()}
}

// List returns the case directories of a dataset, sorted by name. dir is
// either the dataset folder (holding cases/) or the cases folder itself.
// Symlinked case folders are followed when they stay inside the dataset;
// the others are left out (Scan says which and why).
func List(dir string) ([]string, error) {
	cases, _, err := Scan(dir)
	return cases, err
}

// Scan is List that also returns the entries it did not follow, one error
// each naming the entry: a symlink that leads out of the dataset folder or
// to nothing. A symlinked case folder inside the dataset (a case shared
// by two cuts, say) is followed like any folder.
func Scan(dir string) (cases []string, skipped []error, err error) {
	root := dir
	if fi, err := os.Stat(filepath.Join(dir, "cases")); err == nil && fi.IsDir() {
		root = filepath.Join(dir, "cases")
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	inside, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				skipped = append(skipped, &SkippedError{Case: e.Name(), Reason: "a symlink to nothing (" + linkText(p) + "); not followed"})
				continue
			}
			if !within(inside, target) {
				skipped = append(skipped, &SkippedError{Case: e.Name(), Reason: "a symlink out of the dataset folder (to " + target + "); not followed"})
				continue
			}
			if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
				continue // a symlinked file: not a case folder
			}
		} else if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(p, "case.json")); err == nil {
			cases = append(cases, p)
		}
	}
	sort.Strings(cases)
	return cases, skipped, nil
}

// SkippedError is a case folder Scan did not follow.
type SkippedError struct {
	Case   string
	Reason string
}

func (e *SkippedError) Error() string { return "case " + e.Case + ": " + e.Reason }

// within reports whether path is root or below it; both are resolved paths.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func linkText(p string) string {
	if t, err := os.Readlink(p); err == nil {
		return "to " + t
	}
	return "unreadable"
}

// LoadCase reads one case directory. Errors name the case.
func Load(ctx context.Context, dir string) (Case, error) {
	name := filepath.Base(dir)
	c, err := loadCase(ctx, dir)
	if err != nil {
		return Case{}, fmt.Errorf("case %s: %w", name, err)
	}
	return c, nil
}

func loadCase(ctx context.Context, dir string) (Case, error) {
	if err := ctx.Err(); err != nil {
		return Case{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return Case{}, err
	}
	var cf caseFile
	if err := strictjson.Decode(data, &cf); err != nil {
		return Case{}, fmt.Errorf("case.json: %w", err)
	}
	if cf.ID == "" {
		cf.ID = filepath.Base(dir)
	}
	if cf.Window == nil || cf.Baseline == nil {
		return Case{}, errors.New("case.json needs both window and baseline")
	}
	c := Case{ID: cf.ID, System: cf.System, FaultFree: cf.RootCause == nil}
	if cf.Fault != nil {
		c.FaultType = cf.Fault.Type
	}
	if rc := cf.RootCause; rc != nil {
		if rc.Service == "" {
			return Case{}, errors.New(`case.json: root_cause names no service (a fault-free case has "root_cause": null)`)
		}
		c.Truth.Service = rc.Service
		if rc.Metric != nil {
			c.Truth.Metric = *rc.Metric
		}
	}
	b := &c.Bundle
	b.Window, b.Baseline = cf.Window.window(), cf.Baseline.window()
	if err := b.Window.Validate(); err != nil {
		return Case{}, fmt.Errorf("case.json window: %w", err)
	}
	if err := b.Baseline.Validate(); err != nil {
		return Case{}, fmt.Errorf("case.json baseline: %w", err)
	}
	if cf.Target != nil && cf.Target.Service != "" {
		b.Target = &telemetry.Target{Service: cf.Target.Service, Metric: cf.Target.Metric}
	}

	f, err := os.Open(filepath.Join(dir, "metrics.csv"))
	if errors.Is(err, os.ErrNotExist) {
		return Case{}, errors.New("metrics.csv is missing")
	}
	if err != nil {
		return Case{}, err
	}
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	series, err := readWideCSV(ctx, f, size, b.Window, b.Baseline)
	f.Close()
	if err != nil {
		return Case{}, fmt.Errorf("metrics.csv: %w", err)
	}
	b.Series = series

	if b.Edges, err = readDependencies(filepath.Join(dir, "dependencies.csv")); err != nil {
		return Case{}, fmt.Errorf("dependencies.csv: %w", err)
	}
	if b.Logs, err = readLogs(ctx, filepath.Join(dir, "logs.jsonl")); err != nil {
		return Case{}, fmt.Errorf("logs.jsonl: %w", err)
	}
	return c, nil
}

// readWideCSV reads the metrics table: a timestamp column, then one column
// per series. An empty cell is a missing sample; so is a non-finite value,
// which no scorer can use. size is the file's size in bytes (0 when
// unknown): with it, each series' points are allocated once, at the number
// of rows the first row's length predicts, rather than grown by doubling
// (on a case of 10,000 series that growth was more garbage than the case).
func readWideCSV(ctx context.Context, r io.Reader, size int64, window, baseline telemetry.Window) ([]telemetry.Series, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file")
	}
	if err != nil {
		return nil, err
	}
	header = slices.Clone(header) // ReuseRecord: the next Read overwrites it
	if len(header) == 0 || strings.TrimSpace(strings.TrimPrefix(header[0], "\ufeff")) != "timestamp" {
		return nil, errors.New(`column 1 must be "timestamp"`)
	}
	series := make([]telemetry.Series, len(header)-1)
	seen := make(map[string]int, len(series))
	for i, h := range header[1:] {
		metric, labels, err := parseSeriesName(h)
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", i+2, err)
		}
		s := telemetry.Series{Metric: metric, Labels: labels}
		id := s.ID()
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("columns %d and %d are the same series %s", j+2, i+2, id)
		}
		seen[id] = i
		series[i] = s
	}

	var (
		rows, baseRows, winRows int
		// times are the rows' timestamps: the Times of every column with
		// a sample in each row. A column that misses one (own) gets its
		// own from then on.
		times     []int64
		own       = make([]bool, len(series))
		last      int64
		sorted    = true
		base, win = baseline.Nanos(), window.Nanos()
		capacity  = sampleRows // points per series, until the first rows tell
		dataStart = cr.InputOffset()
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		rows++
		if rows == sampleRows && size > 0 {
			read := cr.InputOffset() - dataStart
			capacity = expectedRows(size-dataStart, read/sampleRows, int64(len(header)))
		}
		if rows%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t, err := parseUnixSeconds(rec[0])
		if err != nil {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("line %d: timestamp %q: %w", line, rec[0], err)
		}
		if rows > 1 && t < last {
			sorted = false
		}
		last = t
		switch {
		case base.Contains(t):
			baseRows++
		case win.Contains(t):
			winRows++
		}
		if len(times) == cap(times) {
			times = append(make([]int64, 0, max(capacity, 2*len(times))), times...)
		}
		times = append(times, t)
		for i, cell := range rec[1:] {
			s := &series[i]
			v, err := 0.0, error(nil)
			if cell != "" {
				v, err = strconv.ParseFloat(cell, 64)
				if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range: ±Inf, dropped below
					line, _ := cr.FieldPos(i + 1)
					return nil, fmt.Errorf("line %d, column %d (%s): %q is not a number", line, i+2, header[i+1], cell)
				}
			}
			if cell == "" || math.IsNaN(v) || math.IsInf(v, 0) {
				if !own[i] { // the rows so far, each with a sample of the column
					own[i] = true
					s.Times = append(make([]int64, 0, cap(s.Values)), times[:len(s.Values)]...)
				}
				continue
			}
			if n := len(s.Values); n == cap(s.Values) && n < capacity {
				// A column starts with room for sampleRows samples; when
				// full, it gets the rows ahead as densely as it has been so
				// far (a column with a sample every ten rows, a tenth).
				room := sampleRows
				if n > 0 {
					room = max(2*n, capacity*n/max(rows-1, 1)) // rows before this one
				}
				s.Values = append(make([]float64, 0, room), s.Values...)
				if own[i] {
					s.Times = append(make([]int64, 0, room), s.Times...)
				}
			}
			s.Values = append(s.Values, v)
			if own[i] {
				s.Times = append(s.Times, t)
			}
		}
	}
	if baseRows == 0 {
		return nil, fmt.Errorf("no rows in the baseline %s (%d rows in all)", baseline, rows)
	}
	if winRows == 0 {
		return nil, fmt.Errorf("no rows in the window %s (%d rows in all)", window, rows)
	}
	out := series[:0]
	for i, s := range series {
		if !own[i] {
			s.Times = times[:rows:rows] // a sample in every row
		}
		if s.Len() == 0 {
			continue // all cells empty: nothing to analyse
		}
		if s.Len() < cap(s.Values)/2 {
			// a sparse column: give back the rest
			s.Values = slices.Clone(s.Values)
			if own[i] {
				s.Times = slices.Clone(s.Times)
			}
		}
		if !sorted {
			s.SortSamples()
		}
		out = append(out, s)
	}
	return out, nil
}

// sampleRows is how many rows readWideCSV reads before it sizes the
// columns: their mean length predicts how many rows the file holds.
const sampleRows = 64

// expectedRows is how many rows a table of total bytes holds if its rows
// are mean bytes long, with a little room for longer ones; never more than
// it can hold at all (a row has a comma per column), nor less than
// sampleRows. A wrong guess costs only growth, or memory given back at the
// end.
func expectedRows(total, mean, columns int64) int {
	if mean <= 0 || columns <= 0 {
		return sampleRows
	}
	n := total/mean + total/mean/16 + 1
	return int(max(min(n, total/columns+1), sampleRows))
}

// parseUnixSeconds accepts integer or fractional unix seconds, and returns
// them in Unix nanoseconds (a sample's time, telemetry.InRange).
func parseUnixSeconds(s string) (int64, error) {
	var t time.Time
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		t = time.Unix(n, 0)
	} else {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
			return 0, errors.New("not unix seconds")
		}
		sec, frac := math.Modf(f)
		t = time.Unix(int64(sec), int64(frac*1e9))
	}
	if !telemetry.InRange(t) {
		return 0, errors.New("outside the years 1677 to 2262")
	}
	return t.UnixNano(), nil
}

// readDependencies reads caller,callee edges; a missing file is no topology.
func readDependencies(path string) ([]telemetry.Edge, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 2
	cr.TrimLeadingSpace = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	var edges []telemetry.Edge
	seen := map[telemetry.Edge]bool{}
	for i, r := range recs {
		if i == 0 && strings.EqualFold(r[0], "caller") && strings.EqualFold(r[1], "callee") {
			continue
		}
		if r[0] == "" || r[1] == "" {
			return nil, fmt.Errorf("line %d: empty service name", i+1)
		}
		e := telemetry.Edge{Caller: r[0], Callee: r[1]}
		if !seen[e] {
			seen[e] = true
			edges = append(edges, e)
		}
	}
	return edges, nil
}

type logRecord struct {
	TS     *int64            `json:"ts"`
	Labels map[string]string `json:"labels"`
	Line   string            `json:"line"`
}

// readLogs reads JSON lines {"ts": unix ns, "labels": {...}, "line": "..."};
// a missing file is no logs. Lines come back sorted by time.
func readLogs(ctx context.Context, path string) ([]telemetry.LogLine, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var out []telemetry.LogLine
	for n := 1; ; n++ {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			var rec logRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, describeLine(raw, err))
			}
			if rec.TS == nil {
				return nil, fmt.Errorf("line %d: no ts", n)
			}
			out = append(out, telemetry.LogLine{T: time.Unix(0, *rec.TS).UTC(), Labels: rec.Labels, Line: rec.Line})
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	slices.SortStableFunc(out, func(a, b telemetry.LogLine) int { return a.T.Compare(b.T) })
	return out, nil
}

// describeLine words a JSON error in one line of a JSON-lines file for a
// person: the column and the JSON kinds, not Go's type names
// ("cannot unmarshal string into Go struct field logRecord.ts").
func describeLine(raw []byte, err error) error {
	err = strictjson.Describe(raw, err)
	msg := err.Error()
	// Describe counts lines within raw, which is always line 1 here.
	msg = strings.TrimPrefix(msg, "line 1, ")
	msg = strings.Replace(msg, "at line 1, column", "at column", 1)
	return &strictjson.HintError{Msg: msg, Err: err}
}

// parseSeriesName parses a series in Prometheus series notation, e.g.
// `http_requests_total{service="cart",path="/a \"b\""}`: a metric name and an
// optional brace-enclosed label set with double-quoted, backslash-escaped
// values; the name may instead be a __name__ label. A small hand-written
// scanner keeps collectors free of the PromQL parser and fast on wide headers.
func parseSeriesName(s string) (metric string, labels telemetry.Labels, err error) {
	p := seriesScanner{s: s}
	p.skipSpace()
	metric = p.ident(true)
	p.skipSpace()
	labels = telemetry.Labels{}
	if !p.eof() {
		if !p.consume('{') {
			return "", nil, p.errorf("expected '{' or the end of the series")
		}
		if err := p.labels(labels); err != nil {
			return "", nil, err
		}
	}
	if n, ok := labels["__name__"]; ok {
		if metric != "" && metric != n {
			return "", nil, fmt.Errorf("series %q names its metric twice (%s and __name__=%q)", s, metric, n)
		}
		metric = n
		delete(labels, "__name__")
	}
	if metric == "" {
		return "", nil, fmt.Errorf("series %q has no metric name", s)
	}
	return metric, labels, nil
}

type seriesScanner struct {
	s   string
	pos int
}

func (p *seriesScanner) eof() bool { return p.pos >= len(p.s) }

func (p *seriesScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("series %q at byte %d: %s", p.s, p.pos, fmt.Sprintf(format, args...))
}

func (p *seriesScanner) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *seriesScanner) consume(c byte) bool {
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

// labels reads `name="value", ...}` after the opening brace, up to the end.
func (p *seriesScanner) labels(into telemetry.Labels) error {
	for {
		p.skipSpace()
		if p.consume('}') {
			break
		}
		name := p.ident(false)
		if name == "" {
			return p.errorf("expected a label name")
		}
		p.skipSpace()
		if !p.consume('=') {
			return p.errorf("expected '=' after label %s", name)
		}
		p.skipSpace()
		value, err := p.quoted()
		if err != nil {
			return err
		}
		if _, dup := into[name]; dup {
			return fmt.Errorf("series %q: label %s appears twice", p.s, name)
		}
		into[name] = value
		p.skipSpace()
		if p.consume(',') {
			continue
		}
		if p.consume('}') {
			break
		}
		return p.errorf("expected ',' or '}' after label %s", name)
	}
	p.skipSpace()
	if !p.eof() {
		return p.errorf("unexpected text after '}'")
	}
	return nil
}

// ident reads a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, without colons,
// a label name.
func (p *seriesScanner) ident(colons bool) string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			(p.pos > start && c >= '0' && c <= '9') || (colons && c == ':')
		if !ok {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

// quoted reads a double-quoted label value with the escapes Prometheus
// writes (\\, \", \n).
func (p *seriesScanner) quoted() (string, error) {
	if !p.consume('"') {
		return "", p.errorf("expected '\"' to open a label value")
	}
	start := p.pos
	for p.pos < len(p.s) { // fast path: no escapes, no copy
		switch p.s[p.pos] {
		case '"':
			p.pos++
			return p.s[start : p.pos-1], nil
		case '\\':
			return p.quotedEscaped(start)
		}
		p.pos++
	}
	return "", p.errorf("label value is not closed")
}

func (p *seriesScanner) quotedEscaped(start int) (string, error) {
	var b strings.Builder
	b.WriteString(p.s[start:p.pos])
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) {
				return "", p.errorf("label value ends in a lone backslash")
			}
			switch e := p.s[p.pos+1]; e {
			case '\\', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			default:
				return "", p.errorf("unknown escape \\%c in a label value", e)
			}
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf("label value is not closed")
}
