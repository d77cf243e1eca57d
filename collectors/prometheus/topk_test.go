package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/rca-tool/rca/telemetry"
)

// topKQuery is valid PromQL for the kinds of query the collector sends,
// keeps the query's own series (the and's left side), asks for k, and
// pins every subquery to the end of the window or the baseline, so the
// ranking does not move with the range query's steps.
func TestTopKQuery(t *testing.T) {
	queries := []string{
		cpuQuery,
		`container_memory_working_set_bytes`,
		`histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket[2m])))`,
		`sum by (service) (rate(http_requests_total{code=~"5.."}[2m])) / sum by (service) (rate(http_requests_total[2m]))`,
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			got := topKQuery(q, 500, tWindow, tBaseline, 30*time.Second)
			expr, err := parser.ParseExpr(got)
			if err != nil {
				t.Fatalf("not PromQL: %v\n%s", err, got)
			}
			and, ok := expr.(*parser.BinaryExpr)
			if !ok || and.Op != parser.LAND {
				t.Fatalf("top level is %T, want the query `and` its top-K", expr)
			}
			if lhs := and.LHS.(*parser.ParenExpr).Expr.String(); lhs != mustParse(t, q).String() {
				t.Errorf("left side %s, want the query itself", lhs)
			}
			top, ok := and.RHS.(*parser.AggregateExpr)
			if !ok || top.Op != parser.TOPK || top.Param.String() != "500" {
				t.Errorf("right side %s, want topk(500, ...)", and.RHS)
			}
			subs := 0
			parser.Inspect(and.RHS, func(n parser.Node, _ []parser.Node) error {
				sq, ok := n.(*parser.SubqueryExpr)
				if !ok {
					return nil
				}
				subs++
				if sq.Timestamp == nil || *sq.Timestamp != tWindow.To.UnixMilli()-1 && *sq.Timestamp != tBaseline.To.UnixMilli()-1 {
					t.Errorf("subquery %s is not pinned just before the window's or the baseline's end", sq)
				}
				if sq.Step < 30*time.Second || sq.Range/sq.Step > rankPoints {
					t.Errorf("subquery %s: step %s over %s, want at least the query's 30s and at most %d points", sq, sq.Step, sq.Range, rankPoints)
				}
				return nil
			})
			if subs == 0 {
				t.Error("no subquery: nothing ranks the series")
			}
		})
	}
}

func mustParse(t *testing.T, q string) parser.Expr {
	t.Helper()
	e, err := parser.ParseExpr(q)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// An answer larger than max_response_bytes is asked for again with its
// top-K in the query; the server's ranked answer is kept and the report
// says what happened. Queries under the limit go once, as they are.
func TestCollectTopKPushed(t *testing.T) {
	topk := "(" + cpuQuery + ") and topk("
	f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		switch {
		case q.Query == cpuQuery:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[`)
			for i := range 2000 {
				fmt.Fprintf(w, `{"metric":{"service":"svc%03d"},"values":[[1795960800,"1"]]},`, i)
			}
			fmt.Fprint(w, `{"metric":{"service":"last"},"values":[[1795960800,"1"]]}]}}`)
			return true
		case strings.HasPrefix(q.Query, topk):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"svc007"},"values":[[1795960800,"1"],[1795962600,"9"]]}]}}`)
			return true
		}
		return false
	})
	b, cpu := readCPU(t, f, tBaseline)
	for _, s := range b.Series {
		if s.Signal == "cpu" && s.Query != cpuQuery {
			t.Errorf("series carries query %q, want the signal's own", s.Query)
		}
	}
	if len(cpu) != 1 || cpu[0] != "svc007" {
		t.Errorf("cpu series of %v, want the server's top-K answer (svc007)", cpu)
	}
	if _, ok := warningWith(b, "signal cpu", "larger than max_response_bytes", "the 500 series that moved most", "max_series"); !ok {
		t.Errorf("no warning that the top-K was pushed: %q", b.Warnings)
	}
	asked := f.queries()
	pushed := 0
	for q, n := range asked {
		switch {
		case strings.HasPrefix(q, topk):
			pushed += n
		case q != cpuQuery && n != 1:
			t.Errorf("query %s asked %d times, want once: it was small", q, n)
		}
	}
	if pushed != 1 || asked[cpuQuery] != 1 {
		t.Errorf("cpu asked %d times plain and %d with its top-K, want once each", asked[cpuQuery], pushed)
	}
	for _, w := range b.Warnings {
		if strings.Contains(w, "signal errors") || strings.Contains(w, "signal mem") {
			t.Errorf("a small query is warned about: %q", w)
		}
	}
}

// When only some ranges of a query are too large (a baseline a week
// earlier, busier than the window), every range is asked with the same
// top-K: each holds the series the server chose, a series born in the
// window (no baseline samples) among them.
func TestCollectTopKSameSeriesInEveryRange(t *testing.T) {
	baseline := telemetry.Window{From: tBaseline.From.Add(-7 * 24 * time.Hour), To: tBaseline.To.Add(-7 * 24 * time.Hour)}
	topk := "(" + cpuQuery + ") and topk("
	matrix := func(w http.ResponseWriter, at time.Time, services ...string) {
		var rs []string
		for _, s := range services {
			rs = append(rs, fmt.Sprintf(`{"metric":{"service":%q},"values":[[%d,"1"]]}`, s, at.Unix()))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[%s]}}`, strings.Join(rs, ","))
	}
	f := newFakeProm(t, smallNames, func(w http.ResponseWriter, r *http.Request, q promReq) bool {
		inBaseline := q.Start.Before(tWindow.From)
		switch {
		case q.Query == cpuQuery && inBaseline:
			many := make([]string, 2000)
			for i := range many {
				many[i] = fmt.Sprintf("svc%04d", i)
			}
			matrix(w, q.Start, many...)
		case q.Query == cpuQuery:
			matrix(w, q.Start, "svc0007", "svc0100", "svc0200")
		case strings.HasPrefix(q.Query, topk) && inBaseline:
			matrix(w, q.Start, "svc0007")
		case strings.HasPrefix(q.Query, topk):
			matrix(w, q.Start, "svc0007", "svcNEW")
		default:
			return false
		}
		return true
	})
	_, cpu := readCPU(t, f, baseline)
	if !slices.Equal(cpu, []string{"svc0007", "svcNEW"}) {
		t.Errorf("cpu series of %v, want the server's top-K in both ranges (svc0007, and svcNEW born in the window)", cpu)
	}
	asked := f.queries()
	ranked := 0
	for q, n := range asked {
		if strings.HasPrefix(q, topk) {
			ranked += n
		}
	}
	if asked[cpuQuery] != 2 || ranked != 2 {
		t.Errorf("cpu asked plain %d times and with its top-K %d, want once per range (2) each", asked[cpuQuery], ranked)
	}
}

// readCPU reads the small catalog from f with answers over 64 KiB too
// large, and lists the services of the cpu signal's series.
func readCPU(t *testing.T, f *fakeProm, baseline telemetry.Window) (telemetry.Bundle, []string) {
	t.Helper()
	p := newTestProm(t, f.srv.URL, nil, func(c *Config) { c.MaxResponseBytes = 64 << 10 })
	b, err := p.Read(context.Background(), smallCatalog(t), tWindow, baseline)
	if err != nil {
		t.Fatal(err)
	}
	var cpu []string
	for _, s := range b.Series {
		if s.Signal == "cpu" {
			cpu = append(cpu, s.Labels["service"])
		}
	}
	return b, cpu
}
