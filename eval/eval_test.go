package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/eval/dataset"
	"github.com/rca-tool/rca/telemetry"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestScore(t *testing.T) {
	tests := []struct {
		name  string
		ranks []int
		want  Scores
	}{
		{name: "empty dataset", ranks: nil, want: Scores{}},
		{name: "all first", ranks: []int{1, 1, 1}, want: Scores{Cases: 3, AC1: 1, AC3: 1, AC5: 1, Avg5: 1}},
		{name: "never ranked", ranks: []int{0, 0}, want: Scores{Cases: 2}},
		// ranks 1,2,3,6: AC@1 .25, AC@2 .5, AC@3 .75, AC@4 .75, AC@5 .75
		{name: "mixed", ranks: []int{1, 2, 3, 6}, want: Scores{Cases: 4, AC1: 0.25, AC3: 0.75, AC5: 0.75, Avg5: 0.6}},
		// ranks 5 and missing: AC@1..4 = 0, AC@5 = .5
		{name: "fifth and missing", ranks: []int{5, 0}, want: Scores{Cases: 2, AC5: 0.5, Avg5: 0.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := score(tt.ranks)
			if got.Cases != tt.want.Cases || !near(got.AC1, tt.want.AC1) || !near(got.AC3, tt.want.AC3) ||
				!near(got.AC5, tt.want.AC5) || !near(got.Avg5, tt.want.Avg5) {
				t.Errorf("score(%v) = %+v, want %+v", tt.ranks, got, tt.want)
			}
		})
	}
}

func TestRankOf(t *testing.T) {
	tests := []struct {
		name    string
		ranking []string
		truth   string
		want    int
	}{
		{name: "first", ranking: []string{"a", "b"}, truth: "a", want: 1},
		{name: "third", ranking: []string{"a", "b", "c"}, truth: "c", want: 3},
		{name: "missing", ranking: []string{"a", "b"}, truth: "z", want: 0},
		{name: "empty ranking", ranking: nil, truth: "a", want: 0},
		{name: "no truth", ranking: []string{"a", ""}, truth: "", want: 0},
		// A ranker that repeats a service gets no second chance: the
		// duplicate is dropped before ranking.
		{name: "duplicates", ranking: []string{"a", "a", "b", "", "c"}, truth: "c", want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rankOf(dedupe(tt.ranking), tt.truth); got != tt.want {
				t.Errorf("rank of %q in %v = %d, want %d", tt.truth, tt.ranking, got, tt.want)
			}
		})
	}
}

func TestTiming(t *testing.T) {
	got := timing([]float64{5, 1, 3, 2, 4})
	if !near(got.Median, 3) || !near(got.P95, 4.8) {
		t.Errorf("timing = %+v, want median 3, p95 4.8", got)
	}
	if got := timing(nil); got != (Timing{}) {
		t.Errorf("timing(nil) = %+v", got)
	}
}

var t0 = time.Unix(1_700_000_000, 0).UTC()

// bundle builds a bundle with a 10-minute baseline and a 5-minute window at
// one-minute samples; values lists baseline values then window values.
func bundle(series map[string][]float64) telemetry.Bundle {
	b := telemetry.Bundle{
		Baseline: telemetry.Window{From: t0, To: t0.Add(10 * time.Minute)},
		Window:   telemetry.Window{From: t0.Add(10 * time.Minute), To: t0.Add(15 * time.Minute)},
	}
	for id, vals := range series {
		svc, metric, _ := strings.Cut(id, "/")
		s := telemetry.Series{Metric: metric, Labels: telemetry.Labels{"service": svc}}
		for i, v := range vals {
			if math.IsNaN(v) {
				continue // a missing sample
			}
			s.Append(t0.Add(time.Duration(i)*time.Minute), v)
		}
		b.Series = append(b.Series, s)
	}
	return b
}

var nan = math.NaN()

func TestBaselines(t *testing.T) {
	tests := []struct {
		name   string
		series map[string][]float64
		nsigma []string
		baro   []string
	}{
		{
			name: "clear spike",
			series: map[string][]float64{
				"cart/cpu":  {1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.1, 0.9, 1, 5, 5, 5, 5, 5},
				"front/lat": {10, 11, 9, 10, 10.5, 9.5, 10, 11, 9, 10, 12, 12, 12, 12, 12},
			},
			nsigma: []string{"cart", "front"},
			baro:   []string{"cart", "front"},
		},
		{
			// One baseline outlier inflates the std, so N-Sigma ranks the
			// steady shift of db first; the IQR ignores the outlier, so BARO
			// sees the cart rise as far larger.
			name: "outlier in the baseline",
			series: map[string][]float64{
				"cart/cpu": {1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.1, 0.9, 50, 12, 12, 12, 12, 12},
				"db/lat":   {10, 11, 9, 10, 10.5, 9.5, 10, 11, 9, 10, 14, 14, 14, 14, 14},
			},
			nsigma: []string{"db", "cart"},
			baro:   []string{"cart", "db"},
		},
		{
			// A drop counts as much as a rise (|z|).
			name: "drop",
			series: map[string][]float64{
				"cart/rps":  {100, 101, 99, 100, 102, 98, 100, 101, 99, 100, 0, 0, 0, 0, 0},
				"front/rps": {100, 101, 99, 100, 102, 98, 100, 101, 99, 100, 103, 103, 103, 103, 103},
			},
			nsigma: []string{"cart", "front"},
			baro:   []string{"cart", "front"},
		},
		{
			// Skipped: flat baseline (zero std and IQR), no window samples,
			// no baseline samples; an IQR of zero skips BARO but not N-Sigma.
			name: "skipped series",
			series: map[string][]float64{
				"flat/x":    {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 90, 90, 90, 90, 90},
				"gone/x":    {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, nan, nan, nan, nan, nan},
				"new/x":     {nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 5, 6, 7, 8, 9},
				"blip/x":    {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1},
				"normal/x":  {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 2, 4, 1, 2, 1},
				"nolabel/x": {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 99, 99, 99, 99, 99},
			},
			nsigma: []string{"normal", "blip"},
			baro:   []string{"normal"},
		},
		{
			name:   "ties go by name",
			series: map[string][]float64{"b/x": {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 9}, "a/x": {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 9}},
			nsigma: []string{"a", "b"},
			baro:   []string{"a", "b"},
		},
		{name: "empty bundle", series: nil, nsigma: nil, baro: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bundle(tt.series)
			if strings.Contains(tt.name, "skipped") {
				// A series without a service label is not a service's.
				for i := range b.Series {
					if b.Series[i].Metric == "x" && b.Series[i].Labels["service"] == "nolabel" {
						b.Series[i].Labels = telemetry.Labels{"pod": "p"}
					}
				}
			}
			if got := (NSigma{}).Rank(b); !reflect.DeepEqual(got, tt.nsigma) {
				t.Errorf("nsigma = %v, want %v", got, tt.nsigma)
			}
			if got := (BARO{}).Rank(b); !reflect.DeepEqual(got, tt.baro) {
				t.Errorf("baro = %v, want %v", got, tt.baro)
			}
		})
	}
}

func TestBaselineMetricRanking(t *testing.T) {
	b := bundle(map[string][]float64{
		"cart/cpu": {1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.1, 0.9, 1, 5, 5, 5, 5, 5},
		"cart/mem": {1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.1, 0.9, 1, 2, 2, 2, 2, 2},
		"db/lat":   {1, 1.1, 0.9, 1, 1.05, 0.95, 1, 1.1, 0.9, 1, 3, 3, 3, 3, 3},
	})
	_, metrics := (BARO{}).RankMetrics(b)
	want := []MetricRef{{"cart", "cpu"}, {"db", "lat"}, {"cart", "mem"}}
	if !reflect.DeepEqual(metrics, want) {
		t.Errorf("metrics = %v, want %v", metrics, want)
	}
}

func TestFit(t *testing.T) {
	// numpy: median 2.5, q25 1.75, q75 3.25 for 1..4.
	c, s, ok := fitRobust([]float64{4, 1, 3, 2})
	if !ok || !near(c, 2.5) || !near(s, 1.5) {
		t.Errorf("fitRobust = %v %v %v, want 2.5 1.5", c, s, ok)
	}
	// Population std, as sklearn's StandardScaler.
	c, s, ok = fitStandard([]float64{1, 3})
	if !ok || !near(c, 2) || !near(s, 1) {
		t.Errorf("fitStandard = %v %v %v, want 2 1", c, s, ok)
	}
	for _, base := range [][]float64{nil, {7}, {7, 7}} {
		if _, _, ok := fitStandard(base); ok {
			t.Errorf("fitStandard(%v) ok, want skipped", base)
		}
		if _, _, ok := fitRobust(base); ok {
			t.Errorf("fitRobust(%v) ok, want skipped", base)
		}
	}
}

// fixed ranks the same list for every bundle.
type fixed struct {
	name string
	rank []string
}

func (f fixed) Name() string                   { return f.name }
func (f fixed) Rank(telemetry.Bundle) []string { return f.rank }

type panicky struct{}

func (panicky) Name() string                   { return "panicky" }
func (panicky) Rank(telemetry.Bundle) []string { panic("boom") }

const fixture = "dataset/testdata/dataset"

func TestRunFixture(t *testing.T) {
	var mu sync.Mutex
	var calls []int
	rankers := []Ranker{NSigma{}, BARO{}, fixed{name: "always-db", rank: []string{"db", "cart"}}, panicky{}}
	rep, err := Run(context.Background(), []string{fixture}, rankers, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total != 3 {
			t.Errorf("progress total = %d, want 3", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(calls, []int{1, 2, 3}) {
		t.Errorf("progress calls = %v", calls)
	}
	if len(rep.Datasets) != 1 {
		t.Fatalf("%d datasets", len(rep.Datasets))
	}
	d := rep.Datasets[0]
	if d.Name != "dataset" || d.Cases != 2 {
		t.Errorf("name %q cases %d, want dataset 2", d.Name, d.Cases)
	}
	// case-nobase fails to load; the panicking ranker errs on both others.
	var loadErrs int
	for _, e := range d.Errors {
		if e.Method == "" {
			loadErrs++
			if e.Case != "case-nobase" || !strings.Contains(e.Error, "no rows in the baseline") {
				t.Errorf("load error = %+v", e)
			}
		} else if e.Method != "panicky" || !strings.Contains(e.Error, "boom") {
			t.Errorf("ranker error = %+v", e)
		}
	}
	if loadErrs != 1 || len(d.Errors) != 3 {
		t.Errorf("errors = %+v, want 1 load error and 2 panics", d.Errors)
	}

	ns, _ := d.Method("nsigma")
	// case-a: cart cpu jumps 0.1 -> 0.95; case-b: db latency 0.01 -> 0.3.
	if ns.AC1 != 1 || ns.Cases != 2 {
		t.Errorf("nsigma = %+v, want AC@1 1 on 2 cases", ns.Scores)
	}
	if ns.Metric == nil || ns.Metric.Cases != 1 || ns.Metric.AC1 != 1 {
		t.Errorf("nsigma metric level = %+v, want 1 case (case-a) right", ns.Metric)
	}
	if got := ns.ByFault["cpu-stress"]; got.Cases != 1 || got.AC1 != 1 {
		t.Errorf("nsigma cpu-stress = %+v", got)
	}
	fx, _ := d.Method("always-db")
	if fx.AC1 != 0.5 || fx.AC3 != 1 || fx.Metric != nil {
		t.Errorf("always-db = %+v metric %v, want AC@1 .5, AC@3 1, no metric level", fx.Scores, fx.Metric)
	}
	if !reflect.DeepEqual(d.Faults, []string{"cpu-stress", "network-delay"}) {
		t.Errorf("faults = %v", d.Faults)
	}
	if len(d.Wrong) != 0 || d.Primary != "nsigma" {
		t.Errorf("wrong = %+v primary %q", d.Wrong, d.Primary)
	}

	// The primary ranker's misses are listed with the truth's rank.
	rep2, err := Run(context.Background(), []string{fixture}, []Ranker{fixed{name: "always-db", rank: []string{"db", "db", "front"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Wrong{{Case: "case-a", Fault: "cpu-stress", Truth: "cart", Rank: 0, Top: []string{"db", "front"}}}
	if got := rep2.Datasets[0].Wrong; !reflect.DeepEqual(got, want) {
		t.Errorf("wrong = %+v, want %+v", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	rankers := []Ranker{NSigma{}}
	empty := t.TempDir()
	for _, tt := range []struct {
		name     string
		datasets []string
		rankers  []Ranker
		want     string
	}{
		{name: "missing dir", datasets: []string{filepath.Join(empty, "nope")}, rankers: rankers, want: "nope"},
		{name: "no cases", datasets: []string{empty}, rankers: rankers, want: "holds no cases"},
		{name: "no datasets", rankers: rankers, want: "no dataset"},
		{name: "no rankers", datasets: []string{fixture}, want: "no ranker"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.datasets, tt.rankers, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, []string{fixture}, rankers, nil); err == nil {
		t.Error("canceled run: no error")
	}
}

func TestRCARanker(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataset.Load(context.Background(), filepath.Join(fixture, "cases", "case-a"))
	if err != nil {
		t.Fatal(err)
	}
	r := RCA{Catalog: cat}
	// The analysis may rank nothing yet; the adapter must cope either way.
	services, metrics := r.RankMetrics(c.Bundle)
	if len(dedupe(services)) != len(services) {
		t.Errorf("rca ranked a service twice: %v", services)
	}
	for _, m := range metrics {
		if m.Service == "" || m.Metric == "" {
			t.Errorf("empty metric answer %+v", m)
		}
	}
	if r.Name() != "rca" {
		t.Errorf("name %q", r.Name())
	}
}

func TestRender(t *testing.T) {
	rep, err := Run(context.Background(), []string{fixture}, []Ranker{fixed{name: "first", rank: []string{"db", "x|y"}}, NSigma{}, BARO{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string `json:"schema"`
		Datasets []struct {
			Name    string `json:"name"`
			Cases   int    `json:"cases"`
			Methods map[string]struct {
				AC1     *float64                   `json:"ac1"`
				AC3     *float64                   `json:"ac3"`
				AC5     *float64                   `json:"ac5"`
				Avg5    *float64                   `json:"avg5"`
				ByFault map[string]json.RawMessage `json:"by_fault"`
			} `json:"methods"`
			Seconds *struct {
				Median *float64 `json:"median"`
				P95    *float64 `json:"p95"`
			} `json:"seconds_per_case"`
			Wrong  []json.RawMessage `json:"wrong"`
			Errors []json.RawMessage `json:"errors"`
		} `json:"datasets"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if doc.Schema != Schema || len(doc.Datasets) != 1 {
		t.Fatalf("schema %q, %d datasets", doc.Schema, len(doc.Datasets))
	}
	d := doc.Datasets[0]
	if d.Name != "dataset" || d.Cases != 2 || d.Seconds == nil || d.Seconds.Median == nil || d.Seconds.P95 == nil || len(d.Wrong) != 1 || len(d.Errors) != 1 {
		t.Errorf("dataset = %+v", d)
	}
	for _, name := range []string{"first", "nsigma", "baro"} {
		m, ok := d.Methods[name]
		if !ok || m.AC1 == nil || m.AC3 == nil || m.AC5 == nil || m.Avg5 == nil || len(m.ByFault) != 2 {
			t.Errorf("method %s = %+v", name, m)
		}
	}

	var txt bytes.Buffer
	if err := WriteText(&txt, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dataset: 2 cases scored, 1 errors", "AC@1", "nsigma", "cpu-stress", "first missed 1 of 2", "case-a (cpu-stress): cart not ranked", "case-nobase"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, txt.String())
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### dataset (2 cases, 1 errors)", "| method | AC@1 |", "| nsigma | 1.00 |", `x\|y`} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
}
