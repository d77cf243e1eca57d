package analysis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo"
)

// TestGeneratedScenarios runs the analysis on variants of the demo incident:
// other seeds, another faulty service, a memory leak instead of CPU. The
// faulty service's deploy must rank first, the chain must run from a symptom
// through propagation and a resource anomaly down to that deploy, and the
// decoys (the other deploy, the cart memory blip) must stay out of it.
func TestGeneratedScenarios(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var cases []demo.Scenario
	for seed := int64(1); seed <= 5; seed++ {
		cases = append(cases, demo.Scenario{Seed: seed})
	}
	cases = append(cases,
		demo.Scenario{Seed: 2, FaultyService: "payments"},
		demo.Scenario{Seed: 3, FaultyService: "cart"},
		demo.Scenario{Seed: 4, Fault: demo.FaultMemoryLeak},
		demo.Scenario{Seed: 5, FaultyService: "payments", Fault: demo.FaultMemoryLeak},
	)
	for _, sc := range cases {
		faulty := sc.FaultyService
		if faulty == "" {
			faulty = "checkout"
		}
		t.Run(fmt.Sprintf("seed%d-%s-%s", sc.Seed, faulty, sc.Fault), func(t *testing.T) {
			b, err := demo.Generate(sc)
			if err != nil {
				t.Fatal(err)
			}
			res := analysis.Analyze(b, cat, analysis.Options{})
			if len(res.RootCauses) == 0 {
				t.Fatal("no root cause")
			}
			top := res.RootCauses[0]
			if top.Service != faulty || top.Layer != catalog.LayerChange {
				t.Fatalf("top cause %s (%s: %s), want the %s deploy", top.Service, top.Layer, top.Signal, faulty)
			}
			var layers []string
			for _, l := range res.Chain {
				layers = append(layers, string(l.Layer))
				if l.Layer == catalog.LayerChange && l.Service != faulty {
					t.Errorf("decoy change in the chain: %s", l.Signal)
				}
				if l.Service == "cart" && l.Layer == catalog.LayerResource && faulty != "cart" {
					t.Errorf("decoy cart blip in the chain: %s", l.Signal)
				}
			}
			// Several propagation hops are fine when the fault is deeper in the call graph.
			got := strings.Join(layers, ",")
			want := "symptom,propagation,resource,change"
			if faulty == "payments" {
				want = "symptom,propagation,propagation,resource,change"
			}
			if got != want {
				t.Errorf("chain layers %s, want %s", got, want)
			}
			if res.Chain[0].Service != "gateway" {
				t.Errorf("chain starts at %s, want the gateway users talk to", res.Chain[0].Service)
			}
			if rs := res.Chain[len(res.Chain)-2]; rs.Service != faulty || rs.Layer != catalog.LayerResource {
				t.Errorf("link above the change is %s on %s, want a resource anomaly on %s", rs.Layer, rs.Service, faulty)
			}
			for i := 1; i < len(res.Chain); i++ {
				if res.Chain[i].Onset.After(res.Chain[i-1].Onset.Add(time.Minute)) {
					t.Errorf("link %d (%s) starts after the link it explains", i, res.Chain[i].Signal)
				}
			}
		})
	}
}
