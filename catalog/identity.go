package catalog

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
)

// Identity is who a series belongs to: the service the analysis places it
// on, and the host it describes or runs on.
type Identity struct {
	// Service is the series' service: the first of the catalog's service
	// labels that is set, else a pod name without its generated suffixes;
	// for a host-level series "host:" and the host. "" when nothing names it.
	Service string
	// Host is the machine: the first infrastructure label set (node, ...),
	// else the instance, without a port. "" when unknown, and for a
	// prober's series (whose instance is the target it probed).
	Host string
	// Infrastructure is true for a series that describes a host or node
	// rather than a service: context for the chains of the services that
	// run there, never a service to roll back.
	Infrastructure bool
	// From is the label Service was read from ("" for none).
	From string
}

// hostPrefix starts the service name of a host-level series.
const hostPrefix = "host:"

// Identity derives who a series belongs to from its labels alone:
//
//  1. the first of service_labels that is set (service, service_name,
//     app_kubernetes_io_name, app, k8s_app, container, deployment,
//     statefulset, job), except that
//     - a host exporter's name (infrastructure_jobs: node, node-exporter,
//     ...) makes the series the host's: "host:" + its host, infrastructure
//     (the exporter's own name when the host is not known);
//     - a prober's name (prober_jobs: blackbox, ...) gives the target it
//     probed instead: the instance's host name;
//  2. else a pod label, without the ReplicaSet and pod suffixes;
//  3. else none: Service is "" (a series with only an instance has a Host
//     but no service; host-scoped catalog queries name theirs, see
//     HostService).
//
// A series with an infrastructure label (node) and no pod label, or whose
// service starts with one of infrastructure_service_prefixes, is
// infrastructure whatever named it. See SeriesIdentity for the rule that
// needs the signal (host-scoped signals).
func (c *Catalog) Identity(labels map[string]string) Identity {
	id := c.identity(labels)
	if !id.Infrastructure && c.infraService(id.Service) {
		id.Infrastructure = true
	}
	if !id.Infrastructure && !slices.ContainsFunc(c.PodLabels, func(l string) bool { return labels[l] != "" }) &&
		slices.ContainsFunc(c.InfrastructureLabels, func(l string) bool { return labels[l] != "" }) {
		id.Infrastructure = true
	}
	return id
}

func (c *Catalog) identity(labels map[string]string) Identity {
	host := c.hostOf(labels)
	for _, name := range c.ServiceLabels {
		v := labels[name]
		if v == "" {
			continue
		}
		switch {
		case slices.Contains(c.InfrastructureJobs, v):
			if host == "" {
				return Identity{Service: v, Infrastructure: true, From: name}
			}
			return Identity{Service: hostPrefix + host, Host: host, Infrastructure: true, From: name}
		case slices.Contains(c.ProberJobs, v):
			if t := probeTarget(labels["instance"]); t != "" {
				return Identity{Service: t, From: "instance"}
			}
		}
		return Identity{Service: v, Host: host, From: name}
	}
	for _, name := range c.PodLabels {
		if v := labels[name]; v != "" {
			return Identity{Service: ServiceFromPod(v), Host: host, From: name}
		}
	}
	return Identity{Host: host}
}

// SeriesIdentity is Identity for a series of a known signal and metric: a
// host-scoped signal's series (node_exporter's) belong to their host
// whatever service labels they carry (kube-prometheus labels node_exporter's
// series service="node-exporter", pod="node-exporter-x7k2p").
func (c *Catalog) SeriesIdentity(signalID, metric string, labels map[string]string) Identity {
	id := c.Identity(labels)
	if id.Infrastructure || !c.Classify(signalID, metric).Host {
		return id
	}
	if id.Host == "" {
		id.Infrastructure = true
		return id
	}
	return Identity{Service: hostPrefix + id.Host, Host: id.Host, Infrastructure: true}
}

func (c *Catalog) infraService(service string) bool {
	// A service named after a host exporter's job is the host's, however
	// it got that name (a change recorded for "node").
	if slices.Contains(c.InfrastructureJobs, service) {
		return true
	}
	for _, p := range c.InfrastructureServicePrefixes {
		if service != "" && strings.HasPrefix(service, p) {
			return true
		}
	}
	return false
}

// hostOf is a series' host: the first infrastructure label that is set,
// else the instance, without a port.
func (c *Catalog) hostOf(labels map[string]string) string {
	for _, name := range c.InfrastructureLabels {
		if v := labels[name]; v != "" {
			return HostName(v)
		}
	}
	if slices.ContainsFunc(c.ProberJobs, func(j string) bool { return labels["job"] == j }) {
		return "" // a prober's instance is its target
	}
	return HostName(labels["instance"])
}

// HostName is a host from an instance or node label: without the port
// (10.0.0.1:9100 -> 10.0.0.1, [::1]:9100 -> ::1, web-1 -> web-1).
func HostName(instance string) string {
	if h, _, err := net.SplitHostPort(instance); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(instance, "["), "]")
}

// probeTarget is the host a prober's instance names: a URL's host name
// (http://checkout:8080/healthz -> checkout), host:port's host, or the
// instance itself.
func probeTarget(instance string) string {
	if instance == "" {
		return ""
	}
	if u, err := url.Parse(instance); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Hostname()
	}
	return HostName(instance)
}

// IdentityLabels are the labels a catalog query keeps for $identity: the
// service labels PromQL can name ("service" when there are none). A query
// sums by them, `sum by ($identity) (...)`, so that no two services are
// added up, and Identity picks the service from what is left. Pod and
// instance labels are not kept: a rollout replaces them, and a service's
// series must span its baseline and its window.
func (c *Catalog) IdentityLabels() []string {
	out := validLabels(c.ServiceLabels)
	if len(out) == 0 {
		out = []string{"service"}
	}
	return out
}

// HostLabels are the labels a host-scoped catalog query keeps for $host:
// instance and the infrastructure labels (node, nodename, ...).
func (c *Catalog) HostLabels() []string {
	return validLabels(append([]string{"instance"}, c.InfrastructureLabels...))
}

func validLabels(names []string) []string {
	var out []string
	for _, l := range names {
		// A label PromQL cannot name unquoted (app.kubernetes.io/name) is
		// not one Prometheus stores either.
		if model.LegacyValidation.IsValidLabelName(l) && !strings.HasPrefix(l, "__") && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// HostService wraps a host-scoped query (summed by $host) so that each of
// its series names its host as a service label, "host:" + the host, as
// Identity does: from the first infrastructure label that is set (a node
// name), else the instance, without a port. The analysis then places it on
// the host, as infrastructure, with no rule of its own.
func (c *Catalog) HostService(query string) string {
	// node_exporter scrapes a host by its address; people name it by its
	// host name (a changes file's host:). node_uname_info carries both:
	// join it where it exists, keep the series as they are where not.
	query = fmt.Sprintf(`(%[1]s * on (instance) group_left (nodename) max by (instance, nodename) (node_uname_info)) or on (instance) %[1]s`, query)
	labels := c.HostLabels() // instance first: the others override it
	for _, l := range labels {
		query = fmt.Sprintf(`label_replace(%s, "service", "%s$1", %q, %q)`, query, hostPrefix, l, `\[?(.+?)\]?(?::[0-9]+)?`)
	}
	return query
}

// expandQuery replaces $identity and $host in a catalog query by the
// labels they stand for.
func (c *Catalog) expandQuery(q string) string {
	if !strings.Contains(q, "$") {
		return q
	}
	q = strings.ReplaceAll(q, "$identity", strings.Join(c.IdentityLabels(), ", "))
	return strings.ReplaceAll(q, "$host", strings.Join(c.HostLabels(), ", "))
}
