package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/log"
	"github.com/go-kit/kit/log/level"
	"github.com/grafana/loki-client-go/loki"
	"github.com/grafana/loki-client-go/pkg/backoff"
	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/catalog"
	lokisource "github.com/rca-tool/rca/collectors/loki"
	"github.com/rca-tool/rca/collectors/snapshot"
	"github.com/rca-tool/rca/internal/logoracle"
	"github.com/rca-tool/rca/telemetry"
)

// TestLokiRoundTrip pushes the demo incident's log lines into a real Loki
// and reads them back through its HTTP API: every line must return once,
// with its labels and timestamp. This is the server path the live Loki
// collector reads.
func TestLokiRoundTrip(t *testing.T) {
	b := demogenBundle(t)
	if len(b.Logs) < 1000 {
		t.Fatalf("the demo has %d log lines, want thousands", len(b.Logs))
	}
	lokiURL := startLoki(t)
	pushLogs(t, lokiURL, b.Logs)

	from, to := timeSpan(b.Logs)
	start := time.Now()
	// A limit below the line count makes the reader page.
	got, pages := queryAllLines(t, lokiURL, `{service=~".+"}`, from, to.Add(time.Nanosecond), 1000)
	t.Logf("read %d lines back in %d pages in %s", len(got), pages, time.Since(start).Round(time.Millisecond))
	if pages < 2 {
		t.Errorf("read in %d page(s), want several to exercise paging", pages)
	}

	want := map[string]int{}
	for _, l := range b.Logs {
		want[lineKey(l)]++
	}
	seen := map[string]int{}
	var problems []string
	for _, l := range got {
		// Loki 3 adds labels of its own: service_name, copied from service,
		// to the stream, and detected_level as structured metadata, which
		// query_range folds into the stream's labels (unless the request
		// asks for categorize-labels). The live collector sees them too.
		if l.Labels["service_name"] != l.Labels["service"] {
			problems = append(problems, "service_name is not service: "+lineKey(l))
		}
		l.Labels = maps.Clone(l.Labels)
		delete(l.Labels, "service_name")
		delete(l.Labels, "detected_level")
		k := lineKey(l)
		seen[k]++
		switch {
		case want[k] == 0:
			problems = append(problems, "not pushed: "+k)
		case seen[k] > want[k]:
			problems = append(problems, "returned twice: "+k)
		}
	}
	for k, n := range want {
		if seen[k] < n {
			problems = append(problems, "missing: "+k)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Errorf("pushed %d lines, read %d back; %d problems, the first:\n%s",
			len(b.Logs), len(got), len(problems), strings.Join(problems[:min(len(problems), 10)], "\n"))
	}

	t.Run("labels", func(t *testing.T) {
		q := url.Values{
			"start": {strconv.FormatInt(from.UnixNano(), 10)},
			"end":   {strconv.FormatInt(to.UnixNano()+1, 10)},
		}
		var resp struct {
			Data []string `json:"data"`
		}
		lokiGetJSON(t, lokiURL, "/loki/api/v1/labels", q, &resp)
		for _, name := range []string{"service", "level"} {
			if !slices.Contains(resp.Data, name) {
				t.Errorf("/loki/api/v1/labels = %q, want %s in it", resp.Data, name)
			}
		}
	})
}

// lineKey identifies a log line by time, labels and text.
func lineKey(l telemetry.LogLine) string {
	return fmt.Sprintf("%s %s %q", l.T.UTC().Format(time.RFC3339Nano), l.Labels, l.Line)
}

// timeSpan is the first and last line's time.
func timeSpan(lines []telemetry.LogLine) (from, to time.Time) {
	for i, l := range lines {
		if i == 0 || l.T.Before(from) {
			from = l.T
		}
		if i == 0 || l.T.After(to) {
			to = l.T
		}
	}
	return from, to
}

// pushLogs sends lines to Loki with the Grafana client, as an agent would,
// and waits until Loki returns all of them, so tests do not race ingestion.
func pushLogs(t *testing.T, lokiURL string, lines []telemetry.LogLine) {
	t.Helper()
	if len(lines) == 0 {
		return
	}
	// Loki refuses a line more than an hour older than its stream's newest:
	// send each stream oldest first.
	lines = slices.Clone(lines)
	slices.SortStableFunc(lines, func(a, b telemetry.LogLine) int { return a.T.Compare(b.T) })

	cfg, err := loki.NewDefaultConfig(lokiURL + "/loki/api/v1/push")
	if err != nil {
		t.Fatal(err)
	}
	// The defaults retry for minutes; a test should fail fast instead.
	cfg.BackoffConfig = backoff.BackoffConfig{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRetries: 3}
	cfg.Timeout = 10 * time.Second
	// Handle never reports a failed push; the client only logs it.
	clientLog := new(lockedBuffer)
	logger := level.NewFilter(log.NewLogfmtLogger(log.NewSyncWriter(io.MultiWriter(os.Stderr, clientLog))), level.AllowWarn())
	client, err := loki.NewWithLogger(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, l := range lines {
		ls := make(model.LabelSet, len(l.Labels))
		for k, v := range l.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		if err := client.Handle(ls, l.T, l.Line); err != nil {
			t.Fatal(err)
		}
	}
	client.Stop() // flushes
	pushed := time.Since(start)
	if s := clientLog.String(); strings.Contains(s, "final error") {
		t.Fatalf("loki refused pushed lines:\n%s", s)
	}

	// Wait until Loki counts every pushed line (at least: it may hold
	// lines pushed before), one query per set of label names.
	want := map[string]int{}
	groups := map[string][]string{}
	for _, l := range lines {
		k := l.Labels.String()
		if want[k]++; want[k] == 1 {
			names := slices.Sorted(maps.Keys(l.Labels))
			groups[strings.Join(names, ",")] = names
		}
	}
	from, to := timeSpan(lines)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]int{}
		for _, names := range groups {
			maps.Copy(got, countLines(t, lokiURL, names, from, to))
		}
		var missing []string
		for k, n := range want {
			if got[k] < n {
				missing = append(missing, fmt.Sprintf("%s: %d of %d", k, got[k], n))
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			slices.Sort(missing)
			t.Fatalf("pushed %d lines, but after 30s Loki counts:\n%s\nclient log:\n%s", len(lines), strings.Join(missing, "\n"), clientLog.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("pushed %d lines in %d streams in %s, all queryable after %s",
		len(lines), len(want), pushed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// countLines counts the lines in [from, to] of the streams that have the
// label names, keyed by their values of those names (telemetry.Labels
// strings).
func countLines(t *testing.T, lokiURL string, names []string, from, to time.Time) map[string]int {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("pushLogs: a line without labels cannot be queried")
	}
	// A range selector covers (time-range, time]: end just after the last
	// line and reach back past the first, in whole milliseconds.
	end := to.Add(time.Nanosecond)
	rng := end.Sub(from).Truncate(time.Millisecond) + time.Millisecond
	query := fmt.Sprintf(`sum by (%s) (count_over_time({%s=~".+"}[%dms]))`, strings.Join(names, ","), names[0], rng.Milliseconds())
	q := url.Values{"query": {query}, "time": {strconv.FormatInt(end.UnixNano(), 10)}}
	var resp struct {
		Data struct {
			Result []struct {
				Metric telemetry.Labels `json:"metric"`
				Value  [2]any           `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	lokiGetJSON(t, lokiURL, "/loki/api/v1/query", q, &resp)
	counts := map[string]int{}
	for _, r := range resp.Data.Result {
		s, _ := r.Value[1].(string)
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: value %v is not a count", query, r.Value)
		}
		counts[r.Metric.String()] += n
	}
	return counts
}

// queryAllLines reads every line of a log query in [from, to) through
// query_range, oldest first, limit lines a page.
func queryAllLines(t *testing.T, lokiURL, query string, from, to time.Time, limit int) (lines []telemetry.LogLine, pages int) {
	t.Helper()
	start := from
	for {
		pages++
		if pages > 1000 {
			t.Fatalf("query_range %s: still paging after 1000 pages", query)
		}
		q := url.Values{
			"query":     {query},
			"start":     {strconv.FormatInt(start.UnixNano(), 10)},
			"end":       {strconv.FormatInt(to.UnixNano(), 10)},
			"limit":     {strconv.Itoa(limit)},
			"direction": {"forward"},
		}
		page, _, err := lokisource.DecodeStreams(lokiGet(t, lokiURL, "/loki/api/v1/query_range", q))
		if err != nil {
			t.Fatalf("query_range %s: %v", query, err)
		}
		if len(page) < limit {
			return append(lines, page...), pages
		}
		// A full page may have cut the lines of its last instant in two:
		// drop them and start the next page at that instant.
		last := page[len(page)-1].T
		i := len(page)
		for i > 0 && page[i-1].T.Equal(last) {
			i--
		}
		if i == 0 {
			t.Fatalf("query_range %s: more than %d lines at %s; raise the limit", query, limit, last)
		}
		lines = append(lines, page[:i]...)
		start = last
	}
}

// lokiGet fetches a Loki API path and fails the test on anything but 200.
func lokiGet(t *testing.T, lokiURL, path string, q url.Values) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, lokiURL+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %s: %s", path, q.Encode(), resp.Status, bytes.TrimSpace(body))
	}
	return body
}

// lokiGetJSON is lokiGet decoding the body into v.
func lokiGetJSON(t *testing.T, lokiURL, path string, q url.Values, v any) {
	t.Helper()
	body := lokiGet(t, lokiURL, path, q)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// bodyText is the start of a response body, for messages.
func bodyText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1<<10))
	return string(bytes.TrimSpace(b))
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n bytes, for logs too long to show whole.
func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// TestLokiPushdown counts the catalog's log signals on a real Loki, as the
// live collector pushes them down (one LogQL metric query per signal), and
// checks every count against the lines Loki returns for the same selector,
// counted minute by minute as the analysis counts them: the demo's lines,
// and lines on the first and last nanosecond of minutes, some with a level
// label, some with only the level Loki detects, one stream named by app.
func TestLokiPushdown(t *testing.T) {
	b := demogenBundle(t)
	lines := append(slices.Clone(b.Logs), edgeLines(b.Baseline.From.Add(-2*time.Minute), b.Window.To.Add(2*time.Minute))...)
	lokiURL := startLoki(t)
	pushLogs(t, lokiURL, lines)
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}

	for _, selector := range []string{lokisource.DefaultSelector, `{service_name=~".+"}`} {
		t.Run(selector, func(t *testing.T) {
			cfg := lokisource.NewConfig(lokiURL)
			cfg.Selector = selector
			src, err := lokisource.New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			read, warns, err := src.Lines(context.Background(), cat, b.Window, b.Baseline)
			if err != nil || len(warns) > 0 {
				t.Fatalf("collect: %v %q", err, warns)
			}
			start := time.Now()
			got, warns, err := src.Metrics(context.Background(), cat, b.Window, b.Baseline)
			if err != nil || len(warns) > 0 {
				t.Fatalf("metrics: %v %q", err, warns)
			}
			t.Logf("%d lines read; %d series counted on the server in %s", len(read), len(got), time.Since(start).Round(time.Millisecond))
			want := logoracle.MinuteCounts(cat, read, b.Window, b.Baseline)
			checkCounts(t, got, want, 6)

			// The gateway's timeouts, against the lines as pushed.
			var pushed []telemetry.LogLine
			timeouts, _ := cat.Signal("log_timeouts")
			for _, l := range lines {
				if l.Labels["service"] == "gateway" && timeouts.MatchLog("", l.Line) {
					pushed = append(pushed, l)
				}
			}
			wantGW := logoracle.MinuteCounts(cat, pushed, b.Window, b.Baseline)[`log_timeouts{service="gateway"}`]
			var gw *telemetry.Series
			for i, s := range got {
				if s.Signal == "log_timeouts" && s.Labels["service"] == "gateway" {
					gw = &got[i]
				}
			}
			if gw == nil || len(wantGW) == 0 {
				t.Fatalf("no gateway log_timeouts series (%v), or no pushed timeout lines (%d)", gw != nil, len(wantGW))
			}
			total := 0.0
			for i, p := range gw.Points() {
				total += p.V
				if p != wantGW[i] {
					t.Errorf("gateway timeouts at %s: Loki counts %v, %v lines were pushed", p.T.Format("15:04"), p.V, wantGW[i].V)
				}
			}
			if total < 50 {
				t.Errorf("gateway timeouts: %v in all, want the incident's", total)
			}
		})
	}
}

// edgeLines are log-signal lines at the edges of every minute from from
// to to: a minute's first nanosecond and last millisecond, inside its
// first millisecond, its second half. Stream "edge" has level labels (info
// and INFO lines that say error among them: the label wins) or none (Loki
// detects the level from the text); stream app=edge-app has no service label.
func edgeLines(from, to time.Time) []telemetry.LogLine {
	texts := []string{
		"upstream timed out (110: Connection timed out) while connecting to upstream",
		"dial tcp 10.0.0.9:5432: connect: connection refused",
		"panic: runtime error: invalid memory address or nil pointer dereference",
		"level=error msg=\"write failed\" err=\"disk quota exceeded\"",
		"GET /healthz 200",
	}
	offsets := []time.Duration{0, time.Nanosecond, time.Minute - time.Millisecond, 999 * time.Microsecond, time.Minute/2 + 17*time.Millisecond}
	var out []telemetry.LogLine
	n := 0
	for m := from.Truncate(time.Minute); m.Before(to); m = m.Add(time.Minute) {
		for i, off := range offsets {
			n++
			if n%7 == 3 {
				continue // some minutes quieter
			}
			var labels telemetry.Labels
			switch n % 4 {
			case 0:
				labels = telemetry.Labels{"service": "edge", "level": "error"}
			case 1:
				// Both cases of a level: a count by level is one "info".
				labels = telemetry.Labels{"service": "edge", "level": []string{"info", "INFO"}[(n/4)%2]}
			case 2:
				labels = telemetry.Labels{"service": "edge"}
			default:
				labels = telemetry.Labels{"app": "edge-app"}
			}
			out = append(out, telemetry.LogLine{T: m.Add(off), Labels: labels, Line: fmt.Sprintf("%s #%d", texts[(n+i)%len(texts)], n)})
		}
	}
	return out
}

// checkCounts compares Loki's series with the lines' counts, of at least
// pairs signals and services.
func checkCounts(t *testing.T, got []telemetry.Series, want map[string][]telemetry.Point, pairs int) {
	t.Helper()
	logoracle.CompareCounts(t, got, want)
	if len(want) < pairs {
		t.Errorf("only %d signal and service pairs to compare, want %d", len(want), pairs)
	}
}

// demogenBundle is what demogen writes, read back from its snapshot.
func demogenBundle(t *testing.T) telemetry.Bundle {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, bins.demogen, "-out", dir)
	b, err := snapshot.Read(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
