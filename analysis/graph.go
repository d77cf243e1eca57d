package analysis

import (
	"sort"

	"github.com/rca-tool/rca/telemetry"
)

// graphStage builds the call graph from the bundle's edges and the calls
// its client-side series show.
func graphStage(r *run) {
	r.g = buildGraph(r.b.Edges, r.sigs)
}

// graph is the call graph: callees[a] are the services a calls.
type graph struct {
	callees map[string][]string
	callers map[string][]string
}

// buildGraph merges the bundle's edges with those the data shows: a
// client-side series of service a labelled with callee b is a call a -> b.
func buildGraph(edges []telemetry.Edge, sigs []signal) graph {
	seen := map[telemetry.Edge]bool{}
	g := graph{callees: map[string][]string{}, callers: map[string][]string{}}
	add := func(e telemetry.Edge) {
		if e.Caller == "" || e.Callee == "" || e.Caller == e.Callee || seen[e] {
			return
		}
		seen[e] = true
		g.callees[e.Caller] = append(g.callees[e.Caller], e.Callee)
		g.callers[e.Callee] = append(g.callers[e.Callee], e.Caller)
	}
	for _, e := range edges {
		add(e)
	}
	for _, s := range sigs {
		if s.callee != "" {
			add(telemetry.Edge{Caller: s.service, Callee: s.callee})
		}
	}
	for _, m := range []map[string][]string{g.callees, g.callers} {
		for k := range m {
			sort.Strings(m[k])
		}
	}
	return g
}

func (g graph) empty() bool { return len(g.callees) == 0 }

// descendants are the services reachable from s by calls, s excluded.
func (g graph) descendants(s string) map[string]bool {
	return reach(s, g.callees)
}

// ancestors are the services that reach s by calls, s excluded.
func (g graph) ancestors(s string) map[string]bool {
	return reach(s, g.callers)
}

func reach(s string, next map[string][]string) map[string]bool {
	seen := map[string]bool{}
	queue := []string{s}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range next[cur] {
			if !seen[n] && n != s {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return seen
}

// path returns the shortest call path from -> ... -> to, or nil.
func (g graph) path(from, to string) []string {
	if from == to {
		return []string{from}
	}
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, n := range g.callees[cur] {
			if _, ok := prev[n]; ok {
				continue
			}
			prev[n] = cur
			if n == to {
				var p []string
				for at := to; at != ""; at = prev[at] {
					p = append([]string{at}, p...)
				}
				return p
			}
			queue = append(queue, n)
		}
	}
	return nil
}
