package analysis

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/telemetry"
)

// Impact is what users feel: which services and endpoints fail or slow
// down, how much against the baseline, since when, whether it still goes
// on, and the change to roll back.
type Impact struct {
	Window   telemetry.Window `json:"window"`
	Baseline telemetry.Window `json:"baseline"`
	// Onset is the first symptom's onset; zero when nothing is abnormal.
	Onset time.Time `json:"onset"`
	// Ongoing is true when a symptom is still abnormal at the window's end.
	Ongoing bool `json:"ongoing"`
	// Services are the affected services, those users call first (no
	// other service calls them) before the rest.
	Services []string `json:"services"`
	// Endpoints are the affected service endpoints, user-facing first,
	// then most failed requests, then slowest against the baseline.
	Endpoints []EndpointImpact `json:"endpoints"`
	// FailedRequests sums the user-facing endpoints' failed requests since
	// the onset (all endpoints' when the call graph is unknown), so a
	// failure seen at the gateway and at the service behind it counts once.
	FailedRequests float64 `json:"failed_requests"`
	// Change is the latest change before the onset, if any; Rollback the
	// version to roll back to, when known.
	Change   *telemetry.Change `json:"change,omitempty"`
	Rollback string            `json:"rollback,omitempty"`
}

// EndpointImpact is one service endpoint's share of the impact. A ratio or
// latency is NaN (null in JSON) when the bundle has no series for it.
type EndpointImpact struct {
	Service string `json:"service"`
	// Endpoint names the series within the service, e.g. "POST /api/checkout";
	// "" for the service as a whole.
	Endpoint string `json:"endpoint"`
	// UserFacing is true when no other service calls this one.
	UserFacing bool      `json:"user_facing"`
	Onset      time.Time `json:"onset"`
	// Until is the last abnormal sample, the window's last while ongoing.
	Until   time.Time `json:"until"`
	Ongoing bool      `json:"ongoing"`
	// ErrorRatio is the share of requests failing from the onset to Until, weighted
	// by traffic where the request rate is known; BaselineErrorRatio the
	// same over the baseline.
	ErrorRatio         Measure `json:"error_ratio"`
	BaselineErrorRatio Measure `json:"baseline_error_ratio"`
	// Requests and FailedRequests are counted from the onset to Until.
	Requests       Measure `json:"requests"`
	FailedRequests Measure `json:"failed_requests"`
	// Latency is the median from the onset to Until of the latency signal (e.g.
	// p99), against its median over the baseline.
	Latency         Measure `json:"latency"`
	BaselineLatency Measure `json:"baseline_latency"`
	LatencySignal   string  `json:"latency_signal,omitempty"`
	// Availability is the mean from the onset to Until, against the baseline's.
	Availability         Measure `json:"availability"`
	BaselineAvailability Measure `json:"baseline_availability"`
}

// Measure is a number that may be unknown: NaN, null in JSON.
type Measure float64

// Known reports whether the measure has a finite value.
func (m Measure) Known() bool { return finite(float64(m)) }

// MarshalJSON writes NaN and infinities as null.
func (m Measure) MarshalJSON() ([]byte, error) {
	if !m.Known() {
		return []byte("null"), nil
	}
	return json.Marshal(float64(m))
}

// UnmarshalJSON reads null as NaN.
func (m *Measure) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*m = Measure(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Measure(v)
	return nil
}

// AssessImpact measures the impact of the incident res describes on the
// bundle it was computed from. Only symptom signals the catalog marks with
// an impact role (errors, latency, traffic, availability) count; an endpoint
// is affected when one of its errors, latency or availability signals is
// among the symptoms.
func AssessImpact(b telemetry.Bundle, cat *catalog.Catalog, res Result, lookback time.Duration) Impact {
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	imp := Impact{Window: res.Window, Baseline: res.Baseline, Services: []string{}, Endpoints: []EndpointImpact{}}
	type key struct{ service, endpoint string }
	type roles map[catalog.Impact]telemetry.Series
	series := map[key]roles{}
	for _, s := range b.Series {
		cls := cat.Classify(s.Signal, s.Metric)
		if cls.Impact == "" {
			continue
		}
		k := key{cat.Service(s.Labels), endpointName(s.Labels, cat)}
		if series[k] == nil {
			series[k] = roles{}
		}
		if _, dup := series[k][cls.Impact]; !dup {
			series[k][cls.Impact] = s
		}
	}
	// Callees from the topology and from client-side series (upstream=...).
	called := map[string]bool{}
	for _, e := range b.Edges {
		if e.Caller != e.Callee {
			called[e.Callee] = true
		}
	}
	for _, s := range b.Series {
		if c := cat.Callee(s.Labels); c != "" && c != cat.Service(s.Labels) {
			called[c] = true
		}
	}

	affected := map[key]*EndpointImpact{}
	for _, f := range res.Symptoms {
		cls := cat.Classify(f.SignalID, f.Metric)
		if cls.Impact != catalog.ImpactErrors && cls.Impact != catalog.ImpactLatency && cls.Impact != catalog.ImpactAvailability {
			continue
		}
		k := key{f.Service, endpointName(f.Labels, cat)}
		ep := affected[k]
		if ep == nil {
			ep = &EndpointImpact{Service: k.service, Endpoint: k.endpoint, UserFacing: !called[k.service], Onset: f.Onset, Until: f.Until}
			affected[k] = ep
		}
		if f.Onset.Before(ep.Onset) {
			ep.Onset = f.Onset
		}
		if f.Until.After(ep.Until) {
			ep.Until = f.Until
		}
		if s, ok := series[k][cls.Impact]; ok && ongoing(s, f.Until, res.Window) {
			ep.Ongoing = true
		}
	}

	for k, ep := range affected {
		since := telemetry.Window{From: ep.Onset, To: ep.Until.Add(time.Nanosecond)}
		r := series[k]
		errS, hasErr := r[catalog.ImpactErrors]
		traffic, hasTraffic := r[catalog.ImpactTraffic]
		nan := Measure(math.NaN())
		ep.ErrorRatio, ep.BaselineErrorRatio = nan, nan
		if hasErr {
			ep.ErrorRatio = Measure(weightedMean(errS, traffic, since))
			ep.BaselineErrorRatio = Measure(weightedMean(errS, traffic, res.Baseline))
		}
		ep.Requests, ep.FailedRequests = nan, nan
		if hasTraffic {
			ep.Requests = Measure(integrate(traffic, telemetry.Series{}, since))
			if hasErr {
				ep.FailedRequests = Measure(integrate(traffic, errS, since))
			}
		}
		ep.Latency, ep.BaselineLatency = nan, nan
		if lat, ok := r[catalog.ImpactLatency]; ok {
			ep.Latency = Measure(medianIn(lat, since))
			ep.BaselineLatency = Measure(medianIn(lat, res.Baseline))
			ep.LatencySignal = cat.Classify(lat.Signal, lat.Metric).Name
		}
		ep.Availability, ep.BaselineAvailability = nan, nan
		if av, ok := r[catalog.ImpactAvailability]; ok {
			ep.Availability = Measure(weightedMean(av, telemetry.Series{}, since))
			ep.BaselineAvailability = Measure(weightedMean(av, telemetry.Series{}, res.Baseline))
		}
		imp.Endpoints = append(imp.Endpoints, *ep)
	}
	sort.Slice(imp.Endpoints, func(i, j int) bool {
		a, b := imp.Endpoints[i], imp.Endpoints[j]
		if a.UserFacing != b.UserFacing {
			return a.UserFacing
		}
		if fa, fb := orZero(a.FailedRequests), orZero(b.FailedRequests); fa != fb {
			return fa > fb
		}
		if ra, rb := slowdown(a), slowdown(b); ra != rb {
			return ra > rb
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Endpoint < b.Endpoint
	})

	anyFacing := false
	for _, ep := range imp.Endpoints {
		anyFacing = anyFacing || ep.UserFacing
	}
	// The incident starts with the first endpoint whose abnormal run
	// overlaps the worst one's: an unrelated blip earlier does not count.
	var worst EndpointImpact
	if len(imp.Endpoints) > 0 {
		worst = imp.Endpoints[0]
	}
	for _, ep := range imp.Endpoints {
		if !slices.Contains(imp.Services, ep.Service) {
			imp.Services = append(imp.Services, ep.Service)
		}
		overlaps := !ep.Onset.After(worst.Until) && !ep.Until.Before(worst.Onset)
		if overlaps && (imp.Onset.IsZero() || ep.Onset.Before(imp.Onset)) {
			imp.Onset = ep.Onset
		}
		imp.Ongoing = imp.Ongoing || ep.Ongoing
		if ep.UserFacing || !anyFacing {
			imp.FailedRequests += orZero(ep.FailedRequests)
		}
	}
	hosts := hostServices(b, cat)
	imp.Change = latestChange(b.Changes, res, imp.Onset, lookback, hosts)
	if imp.Change != nil && !hosts[imp.Change.Service] {
		// A host-level "service" (node_exporter's job) is where services
		// run, never one to roll back.
		imp.Rollback = imp.Change.FromVersion
	}
	return imp
}

// endpointName is a series' labels without its service and instance
// labels, values only: "POST /api/checkout".
func endpointName(l telemetry.Labels, cat *catalog.Catalog) string {
	skip := map[string]bool{"__name__": true, "job": true, "instance": true, "pod": true, "container": true, "namespace": true}
	for _, n := range cat.ServiceLabels {
		skip[n] = true
	}
	names := make([]string, 0, len(l))
	for n := range l {
		if !skip[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = l[n]
	}
	return strings.Join(vals, " ")
}

// ongoing reports whether the abnormal run ending at until reaches the
// series' last sample in the window: nothing has recovered since.
func ongoing(s telemetry.Series, until time.Time, w telemetry.Window) bool {
	win := w.Nanos()
	var last, prev int64
	n := 0
	for _, t := range s.Times {
		if win.Contains(t) || t == win.To {
			prev, last = last, t
			n++
		}
	}
	if n == 0 {
		return false
	}
	step := time.Minute
	if n > 1 {
		step = interval(prev, last)
	}
	return !until.Before(telemetry.TimeOf(last).Add(-step))
}

// weightedMean averages v over w, weighted by the value of weight at the
// same instant when weight has samples (a traffic-weighted error ratio).
func weightedMean(v, weight telemetry.Series, w telemetry.Window) float64 {
	wt := valuesByTime(weight)
	win := w.Nanos()
	var sum, n float64
	for i, t := range v.Times {
		x := v.Values[i]
		if !win.Contains(t) || !finite(x) {
			continue
		}
		k, ok := factorAt(wt, t)
		if !ok {
			continue
		}
		sum += x * k
		n += k
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}

// integrate sums rate × interval over w, multiplied by factor at the same
// instant when factor has samples (failed requests = rate × error ratio).
func integrate(rate, factor telemetry.Series, w telemetry.Window) float64 {
	f := valuesByTime(factor)
	win := w.Nanos()
	var total float64
	for i, t := range rate.Times {
		x := rate.Values[i]
		if i == 0 || !win.Contains(t) || !finite(x) {
			continue
		}
		k, ok := factorAt(f, t)
		if !ok {
			continue
		}
		total += x * k * interval(rate.Times[i-1], t).Seconds()
	}
	return total
}

func medianIn(s telemetry.Series, w telemetry.Window) float64 {
	win := w.Nanos()
	var vals []float64
	for i, t := range s.Times {
		if x := s.Values[i]; win.Contains(t) && finite(x) {
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return math.NaN()
	}
	return median(vals)
}

// valuesByTime maps a series' times to its values; nil for a series
// without samples (none given).
func valuesByTime(s telemetry.Series) map[int64]float64 {
	if s.Times == nil {
		return nil
	}
	m := make(map[int64]float64, s.Len())
	for i, t := range s.Times {
		m[t] = s.Values[i]
	}
	return m
}

// factorAt is the value of byTime (from valuesByTime) at t, 1 where
// byTime is nil; false where it has no finite value at t.
func factorAt(byTime map[int64]float64, t int64) (float64, bool) {
	if byTime == nil {
		return 1, true
	}
	x, ok := byTime[t]
	return x, ok && finite(x)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func orZero(m Measure) float64 {
	if !m.Known() {
		return 0
	}
	return float64(m)
}

func slowdown(e EndpointImpact) float64 {
	if !e.Latency.Known() || !e.BaselineLatency.Known() || e.BaselineLatency <= 0 {
		return 0
	}
	return float64(e.Latency / e.BaselineLatency)
}

// hostServices are the services all of whose series are host-level.
func hostServices(b telemetry.Bundle, cat *catalog.Catalog) map[string]bool {
	host := map[string]bool{}
	for _, s := range b.Series {
		svc := cat.Service(s.Labels)
		h, seen := host[svc]
		host[svc] = (h || !seen) && hostLevel(cat, svc, s)
	}
	// A change may name a host's service that no series names (any more).
	for _, c := range b.Changes {
		if _, seen := host[c.Service]; !seen && cat.Infrastructure(c.Service, nil) {
			host[c.Service] = true
		}
	}
	return host
}

// latestChange is the change at the bottom of the chain, or else the
// latest change within the lookback before the onset, of a service that is
// not a host's.
func latestChange(changes []telemetry.Change, res Result, onset time.Time, lookback time.Duration, hosts map[string]bool) *telemetry.Change {
	if n := len(res.Chain); n > 0 && res.Chain[n-1].Change != nil {
		c := *res.Chain[n-1].Change
		return &c
	}
	if onset.IsZero() {
		return nil
	}
	var best *telemetry.Change
	for i := range changes {
		c := changes[i]
		if c.T.After(onset) || c.T.Before(onset.Add(-lookback)) || c.Kind == telemetry.ChangeCommit || hosts[c.Service] {
			continue
		}
		if best == nil || c.T.After(best.T) {
			best = &c
		}
	}
	return best
}
