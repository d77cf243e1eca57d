package grafana

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rca-tool/rca/collectors"
	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/strictjson"
	"github.com/rca-tool/rca/telemetry"
)

// ErrUnreachable is a Grafana that could not be asked at all:
// refused connections, timeouts, refused credentials, or a URL that is not
// Grafana's.
//
//lint:ignore ST1005 Grafana is a name, as Loki and Prometheus are in theirs.
var ErrUnreachable = errors.New("Grafana is unreachable")

// Defaults of the Grafana annotations reader.
const (
	DefaultLimit = 1000
	// summaryMax caps a change's summary, in characters.
	summaryMax = 200
	// sourceName is the Source of every change read from Grafana.
	sourceName = "grafana annotations"
)

// DefaultServiceTagPrefixes are the tags that name an annotation's
// service: service:checkout, service=checkout, app:checkout, app=checkout.
var DefaultServiceTagPrefixes = []string{"service:", "service=", "app:", "app="}

// Config is `changes.grafana` in the config file: Grafana's
// annotations as changes (deploy markers written by CI, manual notes). The
// HTTP settings are Prometheus's own, as in sources.prometheus: a service
// account token goes in authorization (type: Bearer, credentials or
// credentials_file), or basic_auth, tls_config, proxy_url.
type Config struct {
	// URL is Grafana's base URL, e.g. https://grafana.example.com or
	// https://example.com/grafana, not a dashboard link; Headers may hold
	// X-Grafana-Org-Id.
	httpsource.Config `yaml:",inline"`
	// Tags keeps only annotations with at least one of these tags; none
	// reads every annotation (alert annotations excluded).
	Tags []string `yaml:"tags,omitempty"`
	// ServiceTagPrefixes are the tag prefixes that name the service, e.g.
	// "service:" for a tag service:checkout. Default
	// DefaultServiceTagPrefixes.
	ServiceTagPrefixes []string `yaml:"service_tag_prefixes,omitempty"`
	// Limit is the most annotations read; Grafana returns the newest.
	Limit int `yaml:"limit,omitempty"`
}

// UnmarshalYAML starts from Prometheus's HTTP client defaults, as
// sources.prometheus does.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Config
	*c = Config{Config: httpsource.New("")}
	return unmarshal((*plain)(c))
}

// NewConfig is the configuration used when only a URL is given.
func NewConfig(rawURL string) Config {
	return Config{Config: httpsource.New(rawURL)}
}

// Source reads Grafana's annotations as changes over the lookback, the
// baseline and the window. A Grafana that fails is a warning: the metrics
// and logs are still worth analysing without its changes.
type Source struct {
	cfg Config
	log *slog.Logger
}

// New is the source of cfg's annotations; it does no I/O.
func New(cfg Config, log *slog.Logger) *Source {
	return &Source{cfg: cfg, log: collectors.Logger(log)}
}

// Name is the source's name in errors.
func (s *Source) Name() string { return "grafana" }

// Collect reads the annotations from the request's lookback to the end of its window.
func (s *Source) Collect(ctx context.Context, req collectors.Request) (collectors.Part, error) {
	var p collectors.Part
	start := time.Now()
	changes, warns, err := Read(ctx, s.cfg, req.ChangesFrom(), req.Window.To)
	if err != nil {
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
		p.Warnings = []string{"changes from Grafana annotations are missing: " + err.Error()}
		return p, nil
	}
	p.Changes, p.Warnings = changes, warns
	s.log.Debug("read grafana annotations", "changes", len(changes), "took", time.Since(start))
	return p, nil
}

// Read reads the annotations between from and to (those
// overlapping the range; a region's change time is its start) and turns
// them into changes: the service from a service tag (service:checkout),
// the kind from a tag (deploy, rollback, config, restart, flag, version;
// default deploy), the version from version:v1.4.2, the summary from the
// text without its HTML. Annotations that name no service are skipped
// with one warning. Errors are one line, free of credentials; those that
// mean Grafana could not be asked wrap ErrUnreachable.
func Read(ctx context.Context, cfg Config, from, to time.Time) ([]telemetry.Change, []string, error) {
	name := cfg.Names.Field
	hcfg, err := cfg.Config.Check("Grafana")
	red := httpsource.Redactor(hcfg.Secrets())
	if err != nil {
		return nil, nil, red.Error(fmt.Errorf("grafana: %w", err))
	}
	if cfg.Limit == 0 {
		cfg.Limit = DefaultLimit
	}
	if len(cfg.ServiceTagPrefixes) == 0 {
		cfg.ServiceTagPrefixes = DefaultServiceTagPrefixes
	}
	switch {
	case cfg.Limit < 1:
		return nil, nil, fmt.Errorf("%s %d: want 1 or more", name("limit"), cfg.Limit)
	case slices.ContainsFunc(cfg.Tags, func(s string) bool { return strings.TrimSpace(s) == "" }):
		return nil, nil, fmt.Errorf("%s: an empty tag; remove it", name("tags"))
	case slices.ContainsFunc(cfg.ServiceTagPrefixes, func(s string) bool { return strings.TrimSpace(s) == "" }):
		return nil, nil, fmt.Errorf("%s: an empty prefix; write e.g. \"service:\"", name("service_tag_prefixes"))
	case from.IsZero() || to.IsZero() || !from.Before(to):
		return nil, nil, fmt.Errorf("grafana annotations: empty time range %s .. %s", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	base, err := apiBase(hcfg.URL, name("url"))
	if err != nil {
		return nil, nil, red.Error(err)
	}
	hc, err := hcfg.Client(nil, red)
	if err != nil {
		return nil, nil, red.Error(fmt.Errorf("grafana: %w", err))
	}
	e := hcfg.Endpoint(ErrUnreachable, red)
	e.URL = httpsource.RedactURL(base.String())
	anns, err := fetch(ctx, hc, e, base, cfg, from, to)
	if err != nil {
		return nil, nil, red.Error(err)
	}
	changes, warns := changes(anns, cfg.ServiceTagPrefixes)
	if len(anns) >= cfg.Limit {
		warns = append(warns, fmt.Sprintf("grafana %s: %d annotations, the limit (%s): older ones in the range may be missing; raise the limit or narrow %s", e.URL, len(anns), name("limit"), name("tags")))
	}
	for i := range warns {
		warns[i] = red.String(warns[i])
	}
	return changes, warns, nil
}

// apiBase is the API base: the URL without query or fragment, and not
// a dashboard or Explore link, which is what people copy from a browser.
func apiBase(raw, setting string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	path := strings.TrimRight(u.Path, "/")
	for _, page := range []string{"/d/", "/d-solo/", "/explore/", "/dashboards/", "/dashboard/", "/alerting/", "/api/"} {
		if i := strings.Index(path+"/", page); i >= 0 {
			want := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: path[:i]}
			return nil, fmt.Errorf("%s %s is a page of Grafana, not its base URL: write %s", setting, httpsource.RedactURL(raw), want)
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: path}, nil
}

// fetch is the one GET /api/annotations request.
func fetch(ctx context.Context, hc *http.Client, e httpsource.Endpoint, base *url.URL, cfg Config, from, to time.Time) ([]annotation, error) {
	name := cfg.Names.Field
	ctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	u := *base
	u.Path += "/api/annotations"
	q := url.Values{}
	q.Set("from", strconv.FormatInt(from.UnixMilli(), 10))
	q.Set("to", strconv.FormatInt(to.UnixMilli(), 10))
	q.Set("type", "annotation") // not alert state changes
	q.Set("limit", strconv.Itoa(cfg.Limit))
	for _, t := range cfg.Tags {
		q.Add("tags", strings.TrimSpace(t))
	}
	if len(cfg.Tags) > 0 {
		q.Set("matchAny", "true") // any of the tags, not all
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name("url"), err)
	}
	req.Header.Set("Accept", "application/json")
	tooBig := "lower " + name("limit") + " or raise " + name("max_response_bytes")
	resp, err := hc.Do(req)
	if err != nil {
		if d, ok := e.Describe(ctx, err, tooBig); ok {
			return nil, d
		}
		return nil, fmt.Errorf("grafana %s: %w", e.URL, err)
	}
	defer resp.Body.Close()
	body, err := httpsource.ReadBody(resp.Body)
	if err != nil {
		if d, ok := e.Describe(ctx, err, tooBig); ok {
			return nil, d
		}
		return nil, fmt.Errorf("grafana %s: reading the answer: %w", e.URL, err)
	}
	status := resp.Status
	if msg := message(body, e.Redact); msg != "" && !strings.EqualFold(msg, http.StatusText(resp.StatusCode)) {
		status += " (" + msg + ")"
	}
	isHTML := looksLikeHTML(resp.Header.Get("Content-Type"), body)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w at %s: %s: Grafana refused the credentials — check the token (%s: type Bearer with a service account token, or basic_auth)", ErrUnreachable, e.URL, status, name("authorization"))
	case resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w at %s: %s: the credentials may not read annotations — check the token: its service account needs the Viewer role (annotations:read) in this organization (X-Grafana-Org-Id in %s)", ErrUnreachable, e.URL, status, name("headers"))
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return nil, fmt.Errorf("%w at %s: %s: no annotations API at %s — is it Grafana's base URL (with its sub-path, if served under one)? check %s", ErrUnreachable, e.URL, status, httpsource.RedactURL(u.String()), name("url"))
	case resp.StatusCode/100 == 5:
		return nil, fmt.Errorf("grafana %s: %s: Grafana failed the request; try again, or see its log", e.URL, status)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("grafana %s: %s", e.URL, status)
	case isHTML:
		// A login page of a proxy in front of Grafana, or another site.
		return nil, fmt.Errorf("%w at %s: the answer is an HTML page, not Grafana's annotations API — is %s Grafana's base URL, and does a login proxy stand in front of it?", ErrUnreachable, e.URL, name("url"))
	}
	anns, err := decodeAnnotations(body, e.Redact)
	if err != nil {
		return nil, fmt.Errorf("grafana %s: the answer is %w", e.URL, err)
	}
	return anns, nil
}

// annotation is one element of GET /api/annotations.
type annotation struct {
	ID      int64    `json:"id"`
	Time    int64    `json:"time"`    // ms since the epoch
	TimeEnd int64    `json:"timeEnd"` // ms; after Time for a region, whose start is the change
	Tags    []string `json:"tags"`
	Text    string   `json:"text"`
}

// decodeAnnotations decodes the answer: a JSON list of annotations.
// Errors are one line and say what was expected; what they quote of the
// body is redacted before it is cut, so no part of a secret is left.
func decodeAnnotations(body []byte, red httpsource.Redactor) ([]annotation, error) {
	trimmed := bytes.TrimSpace(body)
	switch {
	case string(trimmed) == "null":
		return nil, nil
	case len(trimmed) == 0:
		return nil, errors.New("empty, not a JSON list of annotations")
	case trimmed[0] == '{':
		if msg := message(trimmed, red); msg != "" {
			return nil, fmt.Errorf("the message %q, not a JSON list of annotations", msg)
		}
		return nil, errors.New("a JSON object, not a list of annotations")
	case trimmed[0] != '[':
		return nil, fmt.Errorf("not a JSON list of annotations (it starts with %q)", snippet(red.String(string(trimmed[:min(len(trimmed), 4<<10)])), 40))
	}
	var anns []annotation
	if err := json.Unmarshal(trimmed, &anns); err != nil {
		return nil, fmt.Errorf("not a list of annotations: %w", &strictjson.HintError{Msg: oneLine(red.String(strictjson.Describe(trimmed, err).Error()), 300), Err: err})
	}
	return anns, nil
}

// changes turns annotations into changes, one per service they
// name, and warns once about those naming none.
func changes(anns []annotation, prefixes []string) ([]telemetry.Change, []string) {
	var out []telemetry.Change
	var warns []string
	noService, noTime := 0, 0
	seen := map[int64]bool{}
	for _, a := range anns {
		if a.ID != 0 {
			if seen[a.ID] {
				continue
			}
			seen[a.ID] = true
		}
		if a.Time <= 0 {
			noTime++
			continue
		}
		tags := parseTags(a.Tags, prefixes)
		if len(tags.services) == 0 {
			noService++
			continue
		}
		text := plainText(a.Text, summaryMax)
		for _, svc := range tags.services {
			c := telemetry.Change{
				T:         time.UnixMilli(a.Time).UTC(), // a region's start
				Service:   svc,
				Kind:      tags.kind,
				Summary:   text,
				ToVersion: tags.version,
				Commit:    tags.commit,
				Source:    sourceName,
			}
			if c.Summary == "" {
				what := string(c.Kind)
				if tags.rollback {
					what = "rollback"
				}
				c.Summary = strings.Join(strings.Fields(what+" "+svc+" "+tags.version), " ")
			}
			out = append(out, c)
		}
	}
	if noService > 0 {
		warns = append(warns, fmt.Sprintf("%s no service (tag them %sNAME)", count(noService, "names", "name"), strings.TrimSpace(prefixes[0])))
	}
	if noTime > 0 {
		warns = append(warns, fmt.Sprintf("%s no time; skipped", count(noTime, "has", "have")))
	}
	telemetry.SortChanges(out)
	return out, warns
}

// count is "1 Grafana annotation names" or "N Grafana
// annotations name".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 Grafana annotation " + one
	}
	return fmt.Sprintf("%d Grafana annotations %s", n, many)
}

// tagSet is what an annotation's tags say.
type tagSet struct {
	services []string
	kind     telemetry.ChangeKind
	rollback bool
	version  string
	commit   string
}

// parseTags reads service, kind, version and commit tags, ignoring
// case in prefixes and kind words. The first kind tag wins; deploy if none.
func parseTags(tags, prefixes []string) tagSet {
	var g tagSet
	value := func(tag string, prefixes ...string) (string, bool) {
		for _, p := range prefixes {
			if len(tag) >= len(p) && strings.EqualFold(tag[:len(p)], p) {
				return strings.TrimSpace(tag[len(p):]), true
			}
		}
		return "", false
	}
	for _, tag := range tags {
		tag = strings.TrimSpace(tag)
		if v, ok := value(tag, prefixes...); ok {
			if v != "" && !slices.Contains(g.services, v) {
				g.services = append(g.services, v)
			}
			continue
		}
		if v, ok := value(tag, "version:", "version="); ok {
			if g.version == "" {
				g.version = v
			}
			continue
		}
		if v, ok := value(tag, "commit:", "commit="); ok {
			if g.commit == "" {
				g.commit = v
			}
			continue
		}
		if g.kind != "" {
			continue
		}
		switch strings.ToLower(tag) {
		case "deploy", "deployment", "deployed", "release", "rollout":
			g.kind = telemetry.ChangeDeploy
		case "rollback":
			g.kind, g.rollback = telemetry.ChangeDeploy, true
		case "config", "configuration", "config-change":
			g.kind = telemetry.ChangeConfig
		case "restart":
			g.kind = telemetry.ChangeRestart
		case "flag", "feature-flag", "feature_flag", "featureflag":
			g.kind = telemetry.ChangeFlag
		case "version":
			g.kind = telemetry.ChangeVersion
		}
	}
	if g.kind == "" {
		g.kind = telemetry.ChangeDeploy
	}
	return g
}

// message is the message of a Grafana error body ({"message":
// "..."}), or a plain text body, in one short line, redacted before it is
// cut; "" for HTML or nothing.
func message(body []byte, red httpsource.Redactor) string {
	trimmed := bytes.TrimSpace(body)
	if strictjson.LooksLikeObject(trimmed) {
		var m struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		if json.Unmarshal(trimmed, &m) == nil {
			return oneLine(red.String(first(m.Message, m.Error)), 200)
		}
		return ""
	}
	if len(trimmed) == 0 || trimmed[0] == '<' || trimmed[0] == '[' {
		return ""
	}
	return oneLine(red.String(string(trimmed[:min(len(trimmed), 4<<10)])), 200)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// looksLikeHTML reports an HTML page: by its type or its first byte.
func looksLikeHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '<'
}

// snippet is the start of s, valid UTF-8, at most n bytes.
func snippet(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// oneLine collapses whitespace and control characters and caps the
// text at max characters.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:max-1])) + "…"
}

// plainText is an annotation's text as one line of plain text: tags
// removed (the text of links kept), entities decoded, whitespace
// collapsed, at most max characters.
func plainText(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '<' || i+1 == len(s) || !htmlTagStart(s[i+1]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break // an unterminated comment hides the rest
			}
			i += 4 + end + 3
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			// "<b" with no end is text, not a tag.
			b.WriteString(s[i:])
			break
		}
		name, closing := htmlTagName(s[i+1 : i+end])
		i += end + 1
		if !closing && (name == "script" || name == "style") {
			// Their content is code, not text.
			i += htmlIndexClosing(s[i:], name)
			continue
		}
		if !htmlInlineTag(name) {
			b.WriteByte(' ') // <br>, <p>, <li>: words on either side stay apart
		}
	}
	return oneLine(html.UnescapeString(b.String()), max)
}

// htmlIndexClosing is where the closing tag of name starts in s, or len(s).
func htmlIndexClosing(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return len(s)
		}
		i += j
		if end := i + 2 + len(name); end <= len(s) && strings.EqualFold(s[i+2:end], name) {
			return i
		}
		i += 2
	}
}

// htmlTagStart: what may follow '<' in a tag, so "latency < 200ms" stays.
func htmlTagStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?'
}

// htmlTagName is the lower-case name of the tag whose inside is s ("a
// href=..." or "/a").
func htmlTagName(s string) (name string, closing bool) {
	if strings.HasPrefix(s, "/") {
		s, closing = s[1:], true
	}
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	})
	if end >= 0 {
		s = s[:end]
	}
	return strings.ToLower(s), closing
}

// htmlInlineTag: tags inside a run of text, which must not split a word.
func htmlInlineTag(name string) bool {
	switch name {
	case "a", "b", "i", "em", "strong", "code", "span", "small", "u", "s", "mark", "sub", "sup", "abbr", "kbd", "tt", "font":
		return true
	}
	return false
}
