package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/telemetry"
)

// ErrUnreachable is a Loki that could not be asked at all.
//
//lint:ignore ST1005 Loki is a name.
var ErrUnreachable = errors.New("Loki is unreachable")

// Defaults of the Loki collector.
const (
	DefaultSelector = `{service=~".+"}`
	DefaultLimit    = 5000
	DefaultMaxLines = 200000
	// DefaultMaxBytes caps the line text kept: 200,000 lines of 6 KiB
	// would otherwise hold over a gigabyte.
	DefaultMaxBytes = 256 << 20
)

// Config is `sources.loki` in the config file: the same HTTP settings
// as sources.prometheus (auth, TLS, headers such as X-Scope-OrgID for a
// tenant, timeout, retries), plus what to read.
type Config struct {
	httpsource.Config `yaml:",inline"`
	// Selector is the LogQL stream selector (with optional filters) of the
	// services' logs, e.g. {namespace="shop"} or {job=~"shop/.+"} |~ "(?i)error|timeout".
	Selector string `yaml:"selector,omitempty"`
	// Limit is the number of lines per request; longer ranges are paged.
	Limit int `yaml:"limit,omitempty"`
	// MaxLines caps the lines read over the baseline and the window.
	MaxLines int `yaml:"max_lines,omitempty"`
	// MaxBytes caps the bytes of line text kept over the baseline and the
	// window (and per change source): long lines fill memory long before
	// max_lines is reached.
	MaxBytes int64 `yaml:"max_bytes,omitempty"`
}

// UnmarshalYAML starts from Prometheus's HTTP client defaults, as
// sources.prometheus does.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Config
	*c = Config{Config: httpsource.New("")}
	return unmarshal((*plain)(c))
}

// NewConfig is the configuration used when only a URL is given.
func NewConfig(rawURL string) Config {
	return Config{Config: httpsource.New(rawURL)}
}

// Source is the live log source: raw lines of the selector over the
// baseline and the window, paged forward in time, the catalog's log
// signals counted by Loki, and the changes its log lines announce.
type Source struct {
	cfg     Config
	base    *url.URL
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	redact  httpsource.Redactor
}

// New checks cfg and builds the HTTP client. It does no I/O.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	hcfg, err := cfg.Config.Check("Loki")
	red := httpsource.Redactor(hcfg.Secrets())
	if err != nil {
		return nil, red.Error(fmt.Errorf("loki: %w", err))
	}
	cfg.URL = hcfg.URL // credentials moved out of it
	if cfg.Selector == "" {
		cfg.Selector = DefaultSelector
	}
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if cfg.MaxLines == 0 {
		cfg.MaxLines = DefaultMaxLines
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Limit < 1 || cfg.MaxLines < 1 {
		return nil, fmt.Errorf("loki: limit %d and max_lines %d must be positive", cfg.Limit, cfg.MaxLines)
	}
	if cfg.MaxBytes < 1<<10 {
		return nil, fmt.Errorf("loki: max_bytes %d: want at least 1024", cfg.MaxBytes)
	}
	log = collectors.Logger(log)
	hc, err := hcfg.Client(log, red)
	if err != nil {
		return nil, red.Error(fmt.Errorf("loki: %w", err))
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("loki: %w", err)
	}
	return &Source{cfg: cfg, base: base, hc: hc, timeout: time.Duration(hcfg.Timeout), log: log, redact: red}, nil
}

// URL is the server's base URL, without credentials.
func (l *Source) URL() string { return httpsource.RedactURL(l.cfg.URL) }

// Query is the LogQL selector the collector reads.
func (l *Source) Query() string { return l.cfg.Selector }

// Name is the source's name in errors.
func (l *Source) Name() string { return "loki" }

// Collect reads the selector's lines over the request's range (Lines),
// counts the catalog's log signals on the server meanwhile (Metrics), and
// reads the changes that log lines announce over the lookback (Changes).
func (l *Source) Collect(ctx context.Context, req collectors.Request) (collectors.Part, error) {
	progress := func(n int) { req.Status(fmt.Sprintf("reading %s: %d lines", l.URL(), n)) }
	// The log signals are counted on the server while the lines are read:
	// whole counts, however many lines max_lines lets us read. A signal it
	// cannot count is counted from the lines by the analysis.
	type counted struct {
		series []telemetry.Series
		warns  []string
		err    error
		took   time.Duration
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	countedC := make(chan counted, 1)
	go func() {
		start := time.Now()
		series, warns, err := l.Metrics(ctx, req.Catalog, req.Window, req.Baseline)
		countedC <- counted{series, warns, err, time.Since(start)}
	}()

	var p collectors.Part
	start := time.Now()
	lines, warns, err := l.lines(ctx, req.Catalog, req.Window, req.Baseline, progress)
	if err != nil {
		return p, err
	}
	p.Logs = lines
	p.Warnings = append(p.Warnings, warns...)
	l.log.Debug("collected from loki", "url", l.URL(), "query", l.Query(), "lines", len(lines), "took", time.Since(start).Round(time.Millisecond))

	c := <-countedC
	if c.err != nil {
		return p, c.err
	}
	p.Series = c.series
	p.Warnings = append(p.Warnings, c.warns...)
	l.log.Debug("counted log signals on loki", "url", l.URL(), "series", len(c.series), "took", c.took.Round(time.Millisecond))

	// Deploy and startup lines announce changes; they may lie before the
	// baseline, as far back as the lookback reaches.
	changes, warns, err := l.changes(ctx, req.Catalog, req.ChangesFrom(), req.Window.To, progress)
	if err != nil {
		return p, err
	}
	p.Changes = changes
	p.Warnings = append(p.Warnings, warns...)
	p.Origin = collectors.Origin{Source: l.Name(), URL: l.URL(), Query: l.Query()}
	return p, nil
}

// Lines reads the selector's lines over the baseline and the window. A
// failed page ends that range with a warning; an unreachable server is an
// error wrapping ErrUnreachable. The catalog's service labels explain
// a selector that matches nothing.
func (l *Source) Lines(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window) ([]telemetry.LogLine, []string, error) {
	return l.lines(ctx, cat, window, baseline, nil)
}

func (l *Source) lines(ctx context.Context, cat *catalog.Catalog, window, baseline telemetry.Window, progress func(int)) ([]telemetry.LogLine, []string, error) {
	spans := collectors.Range{Window: window, Baseline: baseline}.Spans()
	var lines []telemetry.LogLine
	var warns []string
	kept := int64(0) // bytes of line text
	for i, span := range spans {
		got, w, err := l.readRange(ctx, l.cfg.Selector, span, budget{lines: l.cfg.MaxLines - len(lines), bytes: l.cfg.MaxBytes - kept}, progress)
		kept += textBytes(got)
		if err != nil {
			if i == 0 && len(got) == 0 && errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
				return nil, nil, err
			}
			warns = append(warns, fmt.Sprintf("loki %s: %s %s: %v", l.URL(), l.cfg.Selector, span, err))
		}
		warns = append(warns, w...)
		lines = append(lines, got...)
	}
	telemetry.SortLogs(lines)
	lines = slices.CompactFunc(lines, func(a, b telemetry.LogLine) bool { return telemetry.CompareLogs(a, b) == 0 })
	if len(lines) == 0 && len(warns) == 0 {
		warns = append(warns, l.noLines(ctx, cat, spans[0].From, spans[len(spans)-1].To))
	}
	return lines, warns, nil
}

// Changes reads the catalog's log change sources (detect: log) from from
// to to: deploy and startup lines that announce a change. A failing
// source is a warning.
func (l *Source) Changes(ctx context.Context, cat *catalog.Catalog, from, to time.Time) ([]telemetry.Change, []string, error) {
	return l.changes(ctx, cat, from, to, nil)
}

func (l *Source) changes(ctx context.Context, cat *catalog.Catalog, from, to time.Time, progress func(int)) ([]telemetry.Change, []string, error) {
	var out []telemetry.Change
	var warns []string
	for _, src := range cat.ChangeSources {
		if src.Detect != catalog.DetectLog {
			continue
		}
		lines, w, err := l.readRange(ctx, src.LogQL, telemetry.Window{From: from, To: to}, budget{lines: l.cfg.MaxLines, bytes: l.cfg.MaxBytes}, progress)
		warns = append(warns, w...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			warns = append(warns, fmt.Sprintf("loki: change source %s: %s: %v", src.ID, src.LogQL, err))
			continue
		}
		found := DetectLogChanges(src, lines, cat)
		l.log.Debug("loki change source", "source", src.ID, "lines", len(lines), "changes", len(found))
		out = append(out, found...)
	}
	return out, warns, nil
}

// noLines explains an empty answer: usually a selector naming labels the
// streams do not have, so it lists the labels Loki does have and the
// values of the first of the catalog's service labels among them.
func (l *Source) noLines(ctx context.Context, cat *catalog.Catalog, from, to time.Time) string {
	msg := fmt.Sprintf("loki %s: no lines match %s between %s and %s", l.URL(), l.cfg.Selector, from.Format(time.RFC3339), to.Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	span := url.Values{"start": {strconv.FormatInt(from.UnixNano(), 10)}, "end": {strconv.FormatInt(to.UnixNano(), 10)}}
	labels, err := l.labelList(ctx, "/loki/api/v1/labels", span)
	if err != nil {
		return msg
	}
	if len(labels) == 0 {
		return msg + "; Loki has no streams at all in that range"
	}
	have := fmt.Sprintf("the streams there have the labels %s", strings.Join(labels, ", "))
	if cat != nil {
		for _, name := range cat.ServiceLabels {
			if !slices.Contains(labels, name) {
				continue
			}
			if values, err := l.labelList(ctx, "/loki/api/v1/label/"+name+"/values", span); err == nil && len(values) > 0 {
				have += fmt.Sprintf(" (%s: %s)", name, listSome(values, maxHintValues))
			}
			break
		}
	}
	return l.redact.String(fmt.Sprintf("%s; %s: set %s to match yours", msg, have, l.field("selector")))
}

// maxHintValues is how many label values a hint lists.
const maxHintValues = 20

// listSome joins up to n values, saying how many there are in all.
func listSome(values []string, n int) string {
	if len(values) <= n {
		return strings.Join(values, ", ")
	}
	return fmt.Sprintf("%s … (%d in all)", strings.Join(values[:n], ", "), len(values))
}

// labelList reads a label API answer ({"status":"success","data":[...]}),
// sorted.
func (l *Source) labelList(ctx context.Context, path string, q url.Values) ([]string, error) {
	body, err := l.get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Status != "success" {
		return nil, fmt.Errorf("%s: not a Loki label API answer", path)
	}
	slices.Sort(resp.Data)
	return resp.Data, nil
}

// budget is what readRange may still keep: lines, and bytes of line text.
type budget struct {
	lines int
	bytes int64
}

// textBytes is the line text of lines, in bytes.
func textBytes(lines []telemetry.LogLine) int64 {
	n := int64(0)
	for _, l := range lines {
		n += int64(len(l.Line))
	}
	return n
}

// readRange pages forward through one range until it is read or the
// budget of lines or bytes is spent.
func (l *Source) readRange(ctx context.Context, query string, span telemetry.Window, max budget, progress func(int)) ([]telemetry.LogLine, []string, error) {
	var out []telemetry.LogLine
	var warns []string
	kept := int64(0)
	start := span.From
	// Forward paging restarts at the last line's timestamp; the lines at
	// that instant come again and are skipped.
	seenAt := map[string]bool{}
	for {
		if kept >= max.bytes {
			warns = append(warns, fmt.Sprintf("loki: stopped at %s of log lines (%s, %d lines); narrow the selector %s or raise max_bytes", mib(l.cfg.MaxBytes), l.field("max_bytes"), len(out), query))
			return out, warns, nil
		}
		if len(out) >= max.lines {
			warns = append(warns, fmt.Sprintf("loki: stopped at %d lines (%s); narrow the selector %s or raise max_lines", l.cfg.MaxLines, l.field("max_lines"), query))
			return out, warns, nil
		}
		limit := min(l.cfg.Limit, max.lines-len(out))
		page, notes, err := l.page(ctx, query, start, span.To, limit)
		if err != nil {
			return out, warns, err
		}
		for _, n := range notes {
			warns = append(warns, "loki: "+n)
		}
		fresh := 0
		for _, line := range page {
			key := lineKey(line)
			if line.T.Equal(start) && seenAt[key] {
				continue
			}
			if kept+int64(len(line.Line)) > max.bytes {
				// The page's rest is dropped: nothing past the cap is kept.
				kept = max.bytes
				break
			}
			out = append(out, line)
			kept += int64(len(line.Line))
			fresh++
		}
		if kept >= max.bytes {
			continue // stops, with the warning, at the top
		}
		if progress != nil {
			progress(len(out))
		}
		if len(page) < limit {
			return out, warns, nil
		}
		last := page[len(page)-1].T
		if fresh == 0 {
			// More lines share one instant than a page holds: Loki cannot
			// page within it. Step past it and say so.
			warns = append(warns, fmt.Sprintf("loki: more than %d lines at %s; some may be missing (raise %s)", limit, last.Format(time.RFC3339Nano), l.field("limit")))
			last = last.Add(time.Nanosecond)
		}
		if !last.Equal(start) {
			clear(seenAt)
		}
		for _, line := range page {
			if line.T.Equal(last) {
				seenAt[lineKey(line)] = true
			}
		}
		start = last
	}
}

// mib words a byte count in MiB, or KiB below one MiB.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// lineKey identifies a line within one instant: its stream and text.
func lineKey(l telemetry.LogLine) string { return l.Labels.String() + "\x00" + l.Line }

// page is one query_range request, direction forward.
func (l *Source) page(ctx context.Context, query string, from, to time.Time, limit int) ([]telemetry.LogLine, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	q := url.Values{}
	q.Set("query", query)
	q.Set("start", strconv.FormatInt(from.UnixNano(), 10))
	q.Set("end", strconv.FormatInt(to.UnixNano(), 10))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("direction", "forward")
	started := time.Now()
	body, err := l.get(ctx, "/loki/api/v1/query_range", q)
	if err != nil {
		return nil, nil, err
	}
	lines, notes, err := DecodeStreams(body)
	if err != nil {
		return nil, nil, l.redact.Error(err)
	}
	l.log.Debug("loki page", "from", from, "to", to, "lines", len(lines), "took", time.Since(started).Round(time.Millisecond))
	for i := range notes {
		notes[i] = l.redact.String(notes[i])
	}
	return lines, notes, nil
}

// get is one GET of the Loki API under ctx: the body of a 2xx answer, or
// an error that says what went wrong, free of secrets.
func (l *Source) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := *l.base
	u.Path += path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return nil, l.describe(ctx, err)
	}
	defer resp.Body.Close()
	body, err := httpsource.ReadBody(resp.Body)
	if err != nil {
		return nil, l.describe(ctx, err)
	}
	// The status line is the server's text too: scrubbed with the rest.
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return nil, l.redact.Error(fmt.Errorf("%w at %s: %s: not a Loki API at this URL — check the path", ErrUnreachable, l.URL(), resp.Status))
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, l.redact.Error(fmt.Errorf("%w at %s: %s: the server refused the credentials — check them%s (and the X-Scope-OrgID tenant header)", ErrUnreachable, l.URL(), resp.Status, l.cfg.Names.In()))
	case resp.StatusCode/100 != 2:
		// Loki answers errors in plain text, not the JSON envelope.
		// Redact before cutting: a secret across the cut would leave its head.
		msg := l.redact.String(string(body))
		if len(msg) > 300 {
			msg = strings.ToValidUTF8(msg[:300], "") + "…"
		}
		return nil, l.redact.Error(fmt.Errorf("%s: %s", resp.Status, msg))
	}
	return body, nil
}

// describe words transport errors as Prometheus's collector does.
func (l *Source) describe(ctx context.Context, err error) error {
	e := l.cfg.Endpoint(ErrUnreachable, l.redact)
	e.Timeout = l.timeout
	if d, ok := e.Describe(ctx, err, "lower "+l.field("limit")+" or raise "+l.field("max_response_bytes")); ok {
		return d
	}
	return l.redact.Error(err)
}

// field names a setting the way the user set it.
func (l *Source) field(name string) string { return l.cfg.Names.Field(name) }
