package analysis

import (
	"slices"

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
	g := graph{callees: map[string][]string{}, callers: map[string][]string{}}
	for _, e := range edges {
		g.add(e)
	}
	for _, s := range sigs {
		if s.callee != "" {
			g.add(telemetry.Edge{Caller: s.service, Callee: s.callee})
		}
	}
	return g
}

// add adds an edge the graph does not have yet, keeping its lists sorted.
func (g graph) add(e telemetry.Edge) {
	if e.Caller == "" || e.Callee == "" || e.Caller == e.Callee || slices.Contains(g.callees[e.Caller], e.Callee) {
		return
	}
	g.callees[e.Caller] = insertSorted(g.callees[e.Caller], e.Callee)
	g.callers[e.Callee] = insertSorted(g.callers[e.Callee], e.Caller)
}

func insertSorted(list []string, s string) []string {
	i, _ := slices.BinarySearch(list, s)
	return slices.Insert(list, i, s)
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
