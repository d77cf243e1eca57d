package analysis

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// TestOutsideView: a leaf is its callers' view of a call to a sibling only
// when all that is seen of it is what the callers see and it moved with
// the sibling, in what callers see, together and by about as much.
func TestOutsideView(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	lat := func(svc string, from, to float64, onset ...int) Finding {
		m := 10
		if len(onset) > 0 {
			m = onset[0]
		}
		return Finding{Service: svc, Signal: "p99 latency", Layer: catalog.LayerSymptom, Unit: "seconds", BaselineValue: from, ObservedValue: to, Onset: at(m), Score: 20}
	}
	for _, tc := range []struct {
		name   string
		lb     Finding
		search Finding
		edit   func(states map[string]*serviceState, edges *[]telemetry.Edge)
		want   bool
	}{
		{"the view of the call", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), nil, true},
		{"another percentile, about as much", lat("lb", 0.05, 1.45), lat("search", 0.05, 1.05), nil, true},
		{"half again more", lat("lb", 0.05, 1.65), lat("search", 0.05, 1.05), nil, false},
		{"a different onset", lat("lb", 0.05, 1.05, 13), lat("search", 0.05, 1.0), nil, false},
		{"the other way", lat("lb", 1.05, 0.05), lat("search", 0.05, 1.0), nil, false},
		{"another unit", func() Finding { f := lat("lb", 0.05, 1.05); f.Unit = "bytes"; return f }(), lat("search", 0.05, 1.0), nil, false},
		{"another layer", lat("lb", 0.05, 1.05), func() Finding { f := lat("search", 0.05, 1.0); f.Layer = catalog.LayerResource; return f }(), nil, false},
		{"resources that grew alike", func() Finding { f := lat("lb", 2e8, 6e8); f.Layer, f.Unit = catalog.LayerResource, "bytes"; return f }(), func() Finding {
			f := lat("search", 3e8, 6.5e8)
			f.Layer, f.Unit = catalog.LayerResource, "bytes"
			return f
		}(), nil, false},
		{"what callers see against what they wait on", lat("lb", 0.05, 1.05), func() Finding { f := lat("search", 0.05, 1.0); f.Layer = catalog.LayerPropagation; return f }(), nil, false},
		{"the requests callers send", func() Finding { f := lat("lb", 20, 14); f.Unit, f.traffic = "per_second", true; return f }(), func() Finding { f := lat("search", 20, 14); f.Unit, f.traffic = "per_second", true; return f }(), nil, false},
		{"already under way", func() Finding { f := lat("lb", 0.05, 1.05); f.CarriedOver = true; return f }(), lat("search", 0.05, 1.0), nil, false},
		{"no baseline value", lat("lb", math.NaN(), 1.05), lat("search", 0.05, 1.0), nil, false},
		{"its own telemetry", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), func(st map[string]*serviceState, _ *[]telemetry.Edge) { st["lb"].inside = true }, false},
		{"a leaf no more", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), func(_ map[string]*serviceState, e *[]telemetry.Edge) {
			*e = append(*e, telemetry.Edge{Caller: "lb", Callee: "disk"})
		}, false},
		{"a sibling without callees", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), func(_ map[string]*serviceState, e *[]telemetry.Edge) {
			*e = slices.DeleteFunc(*e, func(x telemetry.Edge) bool { return x.Caller == "search" })
		}, false},
		{"a caller of the leaf alone", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), func(_ map[string]*serviceState, e *[]telemetry.Edge) {
			*e = append(*e, telemetry.Edge{Caller: "worker", Callee: "lb"})
		}, false},
		{"callers that all call it", lat("lb", 0.05, 1.05), lat("search", 0.05, 1.0), func(_ map[string]*serviceState, e *[]telemetry.Edge) {
			*e = append(*e, telemetry.Edge{Caller: "worker", Callee: "lb"}, telemetry.Edge{Caller: "worker", Callee: "search"})
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			states := map[string]*serviceState{
				"lb":     {name: "lb", anomalous: []Finding{tc.lb}, onset: tc.lb.Onset},
				"search": {name: "search", anomalous: []Finding{tc.search}, onset: tc.search.Onset},
				"db":     {name: "db"},
			}
			edges := []telemetry.Edge{{Caller: "web", Callee: "lb"}, {Caller: "web", Callee: "search"}, {Caller: "search", Callee: "db"}}
			if tc.edit != nil {
				tc.edit(states, &edges)
			}
			got := outsideView(states["lb"], states, buildGraph(edges, nil), time.Minute)
			if (got != nil) != tc.want {
				t.Fatalf("outsideView = %+v, want a view: %v", got, tc.want)
			}
			if got != nil && (got.of != "search" || got.own.Service != "lb" || got.theirs.Service != "search") {
				t.Errorf("outsideView = %+v, want lb's view of search", got)
			}
		})
	}
}
