package incident

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/grafana/loki-client-go/loki"
	"github.com/grafana/loki-client-go/pkg/backoff"
	"github.com/grafana/loki-client-go/pkg/urlutil"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/internal/atomicfile"
)

// Mirror copies an incident's log to Grafana Loki, one Loki line per entry
// in the stream {job="rca", incident="ID"}, so the timeline shows beside the
// telemetry. The local log stays the source of truth: Sync only ever reads
// it, and remembers in DIR/ID/.loki-mirror how far Loki has accepted it, so
// what failed to go out is sent by the next Sync.
type Mirror struct {
	// URL is Loki's base URL, e.g. http://localhost:3100; the push path
	// /loki/api/v1/push is added unless the URL already ends with it.
	// user:password@ in it is sent as basic auth and never shown.
	URL string
	// TenantID is sent as X-Scope-OrgID when set.
	TenantID string
	// Timeout bounds the whole Sync, retries included; 0 means 5s.
	Timeout time.Duration
}

const (
	defaultMirrorTimeout = 5 * time.Second
	lokiPushPath         = "/loki/api/v1/push"
	mirrorCursorName     = ".loki-mirror"
	mirrorJob            = "rca"

	// In-Sync retries smooth over a blip; anything longer is retried by
	// the next Sync.
	pushAttempts   = 3
	pushMinBackoff = 100 * time.Millisecond
	pushMaxBackoff = 400 * time.Millisecond
	// pushMaxSleep bounds the client's sleeps between pushAttempts tries
	// (jittered in [min, 2min), doubling, capped at max).
	pushMaxSleep = 2*pushMinBackoff + pushMaxBackoff
	// pushSlack is left of the budget so that the client's own timeout,
	// which names the cause, usually fires before Sync gives up on it.
	pushSlack = 100 * time.Millisecond
)

// logSource is what Sync needs of a Store; tests fake it.
type logSource interface {
	ReadFrom(ctx context.Context, id string, off int64) ([]Entry, int64, error)
	Path(id string) string
}

// Sync pushes the entries of incident id that Loki has not yet accepted
// and returns how many it moved the mirror's cursor past. With no URL it
// does nothing. Its error is one line meant for the responder: the local
// log is never touched, and what failed is sent again by the next Sync
// (Loki drops an entry it already holds, same time and line).
func (m Mirror) Sync(ctx context.Context, s Store, id string) (int, error) {
	return m.sync(ctx, s, id)
}

func (m Mirror) sync(ctx context.Context, s logSource, id string) (int, error) {
	if strings.TrimSpace(m.URL) == "" {
		return 0, nil
	}
	t, err := parseLokiTarget(m.URL, m.TenantID)
	if err != nil {
		return 0, err
	}
	budget := m.Timeout
	if budget <= 0 {
		budget = defaultMirrorTimeout
	}
	start := time.Now()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	if err := checkID(id); err != nil {
		return 0, t.failed(err.Error())
	}
	cursorFile := filepath.Join(s.Path(id), mirrorCursorName)
	cur := readMirrorCursor(cursorFile, t.key())
	entries, next, err := s.ReadFrom(ctx, id, cur.Offset)
	if err != nil && cur.Offset > 0 {
		// A log replaced by a shorter one: resending all is harmless.
		cur.Offset = 0
		entries, next, err = s.ReadFrom(ctx, id, 0)
	}
	if err != nil {
		return 0, t.failed(fmt.Sprintf("reading the incident log: %v", err))
	}
	if len(entries) == 0 {
		if next > cur.Offset { // only lines that are not entries
			cur.Offset = next
			_ = writeMirrorCursor(cursorFile, cur) // else skipped again
		}
		return 0, nil
	}

	perr := t.push(ctx, id, entries)
	var rejected *pushRejected
	switch {
	case perr == nil, errors.As(perr, &rejected):
		// A rejected entry is rejected again on every retry, and Loki
		// keeps the rest of the batch: move on.
	case errors.Is(perr, context.Canceled) && parent.Err() != nil:
		return 0, t.failed("interrupted")
	case errors.Is(perr, context.DeadlineExceeded):
		return 0, t.failed(fmt.Sprintf("no answer within %s", time.Since(start).Round(100*time.Millisecond)))
	default:
		return 0, t.failed(perr.Error())
	}

	cur.Offset = next
	if err := writeMirrorCursor(cursorFile, cur); err != nil {
		return len(entries), errors.New(t.redact(fmt.Sprintf(
			"incident log mirrored to Loki at %s, but recording that failed: %v; the entries will be sent again (Loki drops duplicates)",
			t.shown, err)))
	}
	if rejected != nil {
		return len(entries), errors.New(t.redact(fmt.Sprintf(
			"incident log saved locally; Loki at %s refused entries of incident %s: %s; they stay in the local log only",
			t.shown, id, rejected.reason)))
	}
	return len(entries), nil
}

// lokiTarget is a parsed Mirror.URL.
type lokiTarget struct {
	pushURL    *url.URL // without credentials
	shown      string   // the URL as configured, without credentials
	user, pass string
	hasAuth    bool
	tenant     string
	secrets    []string // every form of the credentials a message could carry
}

func parseLokiTarget(raw, tenant string) (*lokiTarget, error) {
	raw = strings.TrimSpace(raw)
	t := &lokiTarget{shown: stripUserinfo(raw), tenant: tenant}
	if ui, ok := userinfo(raw); ok {
		t.secrets = append(t.secrets, ui)
		if _, p, ok := strings.Cut(ui, ":"); ok && p != "" {
			t.secrets = append(t.secrets, p)
			if up, err := url.PathUnescape(p); err == nil && up != p {
				t.secrets = append(t.secrets, up)
			}
		}
	}
	bad := func(why string) error {
		return errors.New(t.redact(fmt.Sprintf(
			"incident log saved locally; not mirrored to Loki: incident.loki_url %q is not usable: %s (want e.g. http://localhost:3100)",
			t.shown, why)))
	}
	u, err := url.Parse(raw)
	if err != nil {
		if len(t.secrets) > 0 {
			// The parser's reason quotes pieces of the credentials.
			return nil, bad("it does not parse (percent-encode / ? # @ in a user name or password)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue repeats the whole URL
		}
		return nil, bad(err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad("it must start with http:// or https://")
	}
	if u.Host == "" {
		return nil, bad("it names no host")
	}
	if u.User != nil && u.User.String() != "" {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
		t.hasAuth = true
		t.secrets = append(t.secrets, base64.StdEncoding.EncodeToString([]byte(t.user+":"+t.pass)))
		if t.pass != "" {
			t.secrets = append(t.secrets, t.pass)
		}
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), lokiPushPath) {
		u = u.JoinPath(lokiPushPath)
	}
	t.pushURL = u
	return t, nil
}

// Validate checks the URL without sending anything, for a config loader
// to fail early and once.
func (m Mirror) Validate() error {
	if m.URL == "" {
		return nil
	}
	_, err := parseLokiTarget(m.URL, m.TenantID)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "incident log saved locally; not mirrored to Loki: "))
	}
	return nil
}

// key names the target in the cursor: another Loki or tenant starts over.
func (t *lokiTarget) key() string {
	if t.tenant == "" {
		return t.pushURL.String()
	}
	return t.pushURL.String() + " tenant=" + t.tenant
}

func (t *lokiTarget) failed(reason string) error {
	return errors.New(t.redact(fmt.Sprintf(
		"incident log saved locally; mirroring to Loki at %s failed: %s; it will be retried with the next entry",
		t.shown, reason)))
}

func (t *lokiTarget) redact(s string) string {
	for _, sec := range t.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}

// userinfo is the user[:password] part of a URL, found without url.Parse
// so that it can be hidden even in a URL that does not parse. It runs to
// the last @ of the whole URL: a password with an unencoded / ? or # must
// still be hidden, and a Loki URL has no other @.
func userinfo(raw string) (string, bool) {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return "", false
	}
	return rest[:i], true
}

func stripUserinfo(raw string) string {
	ui, ok := userinfo(raw)
	if !ok {
		return raw
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	return scheme + "://" + strings.TrimPrefix(rest, ui+"@")
}

// pushRejected is a push Loki refused as invalid (HTTP 400, e.g. "entry
// too far behind"), which no retry can fix.
type pushRejected struct{ reason string }

func (e *pushRejected) Error() string { return e.reason }

// push sends the entries with loki-client-go and waits for the outcome,
// within ctx's deadline. The client is asynchronous and reports failures
// only to its logger, so a recording logger tells success from failure.
func (t *lokiTarget) push(ctx context.Context, id string, entries []Entry) error {
	deadline, _ := ctx.Deadline()
	attempts, perTry := pushPlan(time.Until(deadline) - pushSlack)
	cfg := loki.Config{
		URL: urlutil.URLValue{URL: t.pushURL},
		// Nothing goes out before Stop: one batch, one outcome.
		BatchWait: time.Hour,
		BatchSize: loki.BatchSize,
		BackoffConfig: backoff.BackoffConfig{
			MinBackoff: pushMinBackoff,
			MaxBackoff: pushMaxBackoff,
			MaxRetries: attempts, // tries, in fact; 0 would mean forever
		},
		Timeout:  perTry,
		TenantID: t.tenant,
	}
	if t.hasAuth {
		cfg.Client.BasicAuth = &config.BasicAuth{Username: t.user, Password: config.Secret(t.pass)}
	}
	rec := new(pushLog)
	c, err := loki.NewWithLogger(cfg, rec)
	if err != nil {
		return err
	}
	labels := model.LabelSet{"job": mirrorJob, "incident": model.LabelValue(id)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, e := range entries {
			// At the time of writing, which only grows, so Loki never
			// refuses a backdated entry as too old; the line says when.
			_ = c.Handle(labels, cmp.Or(e.Recorded, e.Time), MirrorLine(e)) // always nil
		}
		c.Stop() // sends, retrying per cfg
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// The client cannot be cancelled: leave it to finish or time out
		// on its own. The cursor stays put, so a late success is resent
		// and dropped by Loki as a duplicate.
		return ctx.Err()
	}
	return rec.outcome(perTry)
}

// pushPlan divides a time budget into tries and a timeout for each.
func pushPlan(budget time.Duration) (attempts int, perTry time.Duration) {
	perTry = (budget - pushMaxSleep) / pushAttempts
	if perTry < 250*time.Millisecond {
		return 1, max(budget, 10*time.Millisecond)
	}
	return pushAttempts, perTry
}

// pushLog is a go-kit logger that keeps what loki-client-go reports.
type pushLog struct {
	mu     sync.Mutex
	tries  int
	failed bool
	status int
	err    any
}

func (l *pushLog) Log(kv ...any) error {
	var msg string
	var status int
	var err any
	for i := 0; i+1 < len(kv); i += 2 {
		switch kv[i] {
		case "msg":
			msg, _ = kv[i+1].(string)
		case "status":
			status, _ = kv[i+1].(int)
		case "error":
			err = kv[i+1]
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch msg {
	case "error sending batch, will retry":
		l.tries++
	case "final error sending batch", "error encoding batch":
		// With several batches, a failure worth retrying wins over a 400:
		// the cursor must not move past entries Loki never got.
		if l.failed && l.status != http.StatusBadRequest && status == http.StatusBadRequest {
			return nil
		}
		l.failed, l.status, l.err = true, status, err
	}
	return nil
}

// outcome is nil when the client sent everything, a *pushRejected when
// Loki refused the entries as invalid, else an error with the cause.
func (l *pushLog) outcome(perTry time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.failed {
		return nil
	}
	var reason string
	switch err, _ := l.err.(error); {
	case l.status > 0:
		// "server returned HTTP status 500 Internal Server Error (500): body"
		body := fmt.Sprint(l.err)
		if _, after, ok := strings.Cut(body, "): "); ok {
			body = after
		} else {
			body = ""
		}
		reason = fmt.Sprintf("Loki answered %d %s", l.status, http.StatusText(l.status))
		if body = mirrorClip(body, 300); body != "" {
			reason += ": " + body
		}
		switch l.status {
		case http.StatusBadRequest:
			return &pushRejected{reason: reason}
		case http.StatusUnauthorized, http.StatusForbidden:
			reason += " (check the credentials in incident.loki_url and the tenant ID)"
		case http.StatusNotFound, http.StatusMethodNotAllowed:
			reason += " (is it Loki's base URL? " + lokiPushPath + " is added to it)"
		}
	case err != nil:
		var ue *url.Error
		switch {
		case errors.As(err, &ue) && ue.Timeout(), errors.Is(err, context.DeadlineExceeded):
			reason = fmt.Sprintf("no answer within %s", perTry.Round(time.Millisecond))
		case errors.As(err, &ue):
			reason = ue.Err.Error() // ue repeats the push URL
		default:
			reason = err.Error()
		}
	default:
		reason = fmt.Sprint(l.err)
	}
	if tries := l.tries; tries > 1 {
		reason += fmt.Sprintf(" (%d tries)", tries)
	}
	return errors.New(reason)
}

func mirrorClip(s string, limit int) string {
	s = strings.TrimRight(strings.Join(strings.Fields(s), " "), ",;")
	if len(s) > limit {
		i := limit
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "..."
	}
	return s
}

// MirrorLine is the Loki line for an entry: logfmt, readable in Grafana and
// queryable with | logfmt, e.g.
//
//	kind=note author=alice msg="checkout p99 is back"
func MirrorLine(e Entry) string {
	var b strings.Builder
	f := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		writeLogfmtValue(&b, v)
	}
	f("kind", string(e.Kind))
	if !e.Recorded.IsZero() {
		f("at", e.Time.UTC().Format(time.RFC3339))
	}
	f("author", e.Author)
	f("msg", e.Text)
	f("title", e.Title)
	f("severity", e.Severity)
	f("impact", e.Impact)
	f("status", string(e.Status))
	f("posted_to", e.PostedTo)
	if c := e.Change; c != nil {
		f("change", c.Summary)
		f("service", c.Service)
	}
	if a := e.Analysis; a != nil {
		f("service", a.Service)
		f("root_cause", a.RootCause)
		f("change", a.Change)
		f("rollback", a.Rollback)
		if a.Ongoing {
			f("ongoing", "true")
		}
	}
	f("files", strings.Join(e.Files, ","))
	return b.String()
}

// writeLogfmtValue quotes like go-logfmt, whose rules Loki's parser reads.
func writeLogfmtValue(b *strings.Builder, v string) {
	plain := true
	for _, r := range v {
		if r <= ' ' || r == '=' || r == '"' || r == utf8.RuneError || r == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r) // an invalid byte becomes U+FFFD
		}
	}
	b.WriteByte('"')
}

// mirrorCursor is how far the log has been accepted by which Loki.
type mirrorCursor struct {
	Target string `json:"target"`
	Offset int64  `json:"offset"`
}

// readMirrorCursor reads the cursor; missing, unreadable or for another
// target it starts over, which at worst resends what Loki already holds.
func readMirrorCursor(path, target string) mirrorCursor {
	fresh := mirrorCursor{Target: target}
	b, err := os.ReadFile(path)
	if err != nil {
		return fresh
	}
	var c mirrorCursor
	if json.Unmarshal(b, &c) != nil || c.Target != target || c.Offset < 0 {
		return fresh
	}
	return c
}

func writeMirrorCursor(path string, c mirrorCursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}
