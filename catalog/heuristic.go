package catalog

import "regexp"

// nameRule places an unknown metric by words in its name.
type nameRule struct {
	re        *regexp.Regexp
	layer     Layer
	direction Direction
	unit      string
}

// Order matters: the first rule that matches wins, so the more specific
// words (availability, timeout, restart) come before the generic ones.
var nameRules = []nameRule{
	{regexp.MustCompile(`availab|success|uptime|apdex|(^|_)up$`), LayerSymptom, Down, "ratio"},
	{regexp.MustCompile(`restart|build_info|version|generation|reload|start_time|deploy`), LayerChange, Up, "count"},
	{regexp.MustCompile(`timeout|timed_out|retr(y|ies)|queue|backlog|lag|upstream|pending|circuit`), LayerPropagation, Up, ""},
	{regexp.MustCompile(`5xx|error|errors|fail|exception|unavailable|reject|dropped`), LayerSymptom, Up, ""},
	{regexp.MustCompile(`latency|duration|response_time|p9[059]|p50|_seconds_(bucket|sum|count)$`), LayerSymptom, Up, "seconds"},
	// Some words only as words (between _ . - or at an end): load (load1,
	// load.1, load_avg, loadavg; not workload, payload, download or a
	// load_balancer), socket (not websocket), mem (memory), workload (a
	// service's requests, not kube_workload_replicas).
	{regexp.MustCompile(`cpu|throttl|memory|mem_|(^|[_.-])mem$|heap|gc_|oom|disk|fs_|filesystem|network|net_|receive|transmit|io_|file_descriptors|fd|threads|goroutines|connections|(^|[_.-])sockets?([_.-]|$)|swap|loadavg|loadaverage|(^|[_.-])load(\d+m?)?([.-]|_(\d+m?|avg|average)([_.-]|$)|$)|pgpg|vmstat|packet_loss|retrans`), LayerResource, Up, ""},
	{regexp.MustCompile(`request|throughput|rps|qps|traffic|invocations|(^|[_.-])workloads?$`), LayerSymptom, Both, "per_second"},
}

// heuristic classifies a metric no catalog signal matched by its name; what
// no rule matches is treated as a resource signal that may move either way.
func heuristic(metric string) Classification {
	name := lower(metric)
	for _, r := range nameRules {
		if r.re.MatchString(name) {
			return Classification{SignalID: metric, Name: metric, Layer: r.layer, Direction: r.direction, Unit: r.unit, Heuristic: true}
		}
	}
	return Classification{SignalID: metric, Name: metric, Layer: LayerResource, Direction: Both, Heuristic: true}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
