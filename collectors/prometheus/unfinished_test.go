package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/testhttp"
	"github.com/rca-tool/rca/telemetry"
)

// Issue 17, defect 6: with the label API answering and most range queries
// dripping a byte at a time, the run ends within the timeout (not
// queries / concurrency x timeout), keeps what was answered, and lists
// what did not finish in one warning.
func TestTimeoutBoundsTheRun(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/label/") {
			fmt.Fprint(w, `{"status":"success","data":["http_server_requests_total","container_cpu_usage_seconds_total","container_memory_working_set_bytes","go_gc_duration_seconds_sum","kube_pod_container_status_restarts_total","http_server_request_duration_seconds_bucket"]}`)
			return
		}
		if strings.Contains(r.URL.Path, "/metadata") {
			fmt.Fprint(w, `{"status":"success","data":{}}`)
			return
		}
		// The first two queries are answered; the rest drip.
		if asked.Add(1) <= 2 {
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"checkout"},"values":[[%d,"1"]]}]}}`, t0.Unix())
			return
		}
		testhttp.Drip(w, r, 200*time.Millisecond)
	}))
	defer srv.Close()
	cat := defaultCatalog(t)
	cfg := Config{Config: httpsource.New(srv.URL), Concurrency: 4}
	cfg.Timeout = model.Duration(time.Second)
	cfg.Retries = -1
	cfg.Names = httpsource.Names{Section: "sources.prometheus"}
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b, _, err := collectors.Collect(context.Background(), []collectors.Source{src}, collectors.Request{
		Range:   collectors.Range{Window: telemetry.Window{From: t0, To: t0.Add(30 * time.Minute)}, Baseline: telemetry.Window{From: t0.Add(-time.Hour), To: t0}},
		Catalog: cat,
	})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took > 1800*time.Millisecond {
		t.Errorf("took %s under a 1s timeout", took.Round(time.Millisecond))
	}
	if len(b.Series) == 0 {
		t.Error("the answered query's series are lost")
	}
	var late []string
	for _, w := range b.Warnings {
		if strings.Contains(w, "not finished") {
			late = append(late, w)
		}
	}
	if len(late) != 1 || !strings.Contains(late[0], "queries not finished within 1s, the time sources.prometheus.timeout gives the whole collection") ||
		!strings.Contains(late[0], "signal ") {
		t.Errorf("want one warning listing the unfinished queries, got %q", late)
	}
}
