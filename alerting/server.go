// Package alerting receives Alertmanager's webhook notifications and turns
// a firing alert group into an incident with its analysis attached, before
// anyone opens a laptop: it opens the incident (title, severity, labels and
// links from the alert), runs impact and analyze over a window around the
// alert's start, attaches the evidence as rca analyze --incident does, and
// posts the first stakeholder update when a webhook is configured. Later
// notifications of the group add notes (an alert joined, an alert
// resolved); the humans resolve the incident.
//
// One group is one incident: the mapping is saved beside the incidents,
// notifications are coalesced per group into a bounded queue served by a
// fixed number of workers, and the HTTP reply never waits for an analysis.
package alerting

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/telemetry"
	"github.com/rca-tool/rca/workflow"
)

// Defaults.
const (
	DefaultListen  = "127.0.0.1:9466"
	DefaultWorkers = 2
	DefaultQueue   = 256
	// DefaultMaxBody caps a request body: Alertmanager's largest
	// notifications (max_alerts 0, hundreds of alerts) stay far below.
	DefaultMaxBody = 4 << 20
	// Path is where Alertmanager posts.
	Path = "/api/v1/alertmanager"
)

// DefaultRetryWaits are the waits before a failed analysis is tried again:
// the alert fires while the incident is young, and a Prometheus that is
// restarting, or as overloaded as the services it watches, answers a
// minute or two later. The sources already retry each request a few times.
func DefaultRetryWaits() []time.Duration { return []time.Duration{30 * time.Second, 2 * time.Minute} }

// AnalyseFunc analyses the window around an alert group's earliest start,
// with the changes responders noted in the incident.
type AnalyseFunc func(ctx context.Context, startsAt, now time.Time, noted []telemetry.Change) (workflow.Run, error)

// PostFunc sends a stakeholder update and says where it went (a host, never
// a secret URL).
type PostFunc func(ctx context.Context, text string) (postedTo string, err error)

// Config is what a Server needs. Store, Token and Analyse are required.
type Config struct {
	Store incident.Store
	// Token is the bearer token every request to Path must carry.
	Token   string
	Analyse AnalyseFunc
	// Post, when set, sends the first stakeholder update.
	Post        PostFunc
	UpdateEvery time.Duration
	// Author signs the entries (default "rca serve").
	Author string
	// Recorded runs after every entry (re-render log.md, mirror to Loki);
	// nil re-renders log.md.
	Recorded func(ctx context.Context, s incident.Store, id string)
	Workers  int
	Queue    int
	MaxBody  int64
	// RetryWaits are the waits before each new try of a failed analysis
	// (nil: DefaultRetryWaits(); empty: no retry). After the last, the
	// incident log says the analysis failed and how to run it by hand.
	RetryWaits []time.Duration
	Log        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the alert receiver.
type Server struct {
	cfg Config
	log *slog.Logger
	reg *prometheus.Registry
	m   metrics

	mu      sync.Mutex
	groups  map[string]*groupSlot // by group key
	byFP    map[string]string     // fingerprint -> group key, for groups with an incident
	queue   chan string
	queued  map[string]bool // waiting in queue
	running map[string]bool
	again   map[string]bool // notified while running: queue again after
	// retrying holds the timers of the groups waiting to retry a failed
	// analysis.
	retrying map[string]*retryTimer
	closed   bool

	ready   atomic.Bool
	workers sync.WaitGroup
	stop    context.CancelFunc // stops the workers' work
	drain   chan struct{}      // closed: take no more work
}

// groupSlot is a group with the lock that guards it and its file.
type groupSlot struct {
	mu sync.Mutex
	g  *group
}

type metrics struct {
	received, opened, analyses, failed prometheus.Counter
	rejected                           *prometheus.CounterVec
	duration                           prometheus.Histogram
	depth                              prometheus.Gauge
}

// New loads the saved groups and returns a server; Start starts its
// workers.
func New(cfg Config) (*Server, error) {
	if cfg.Token == "" {
		return nil, errors.New("no token: the receiver refuses to run unauthenticated (--token-file)")
	}
	if cfg.Analyse == nil {
		return nil, errors.New("no analysis configured")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Author == "" {
		cfg.Author = "rca serve"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UpdateEvery <= 0 {
		cfg.UpdateEvery = incident.DefaultCadence
	}
	if cfg.RetryWaits == nil {
		cfg.RetryWaits = DefaultRetryWaits()
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg: cfg, log: log, reg: prometheus.NewRegistry(),
		groups: map[string]*groupSlot{}, byFP: map[string]string{},
		queue: make(chan string, cfg.Queue), queued: map[string]bool{}, running: map[string]bool{}, again: map[string]bool{},
		retrying: map[string]*retryTimer{}, drain: make(chan struct{}),
	}
	s.m = metrics{
		received: prometheus.NewCounter(prometheus.CounterOpts{Name: "rca_webhooks_received_total", Help: "Alertmanager notifications received."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rca_webhooks_rejected_total", Help: "Alertmanager notifications rejected, by reason."}, []string{"reason"}),
		opened:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rca_incidents_opened_total", Help: "Incidents opened for alert groups."}),
		analyses: prometheus.NewCounter(prometheus.CounterOpts{Name: "rca_analyses_total", Help: "Analyses run for alert groups."}),
		failed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "rca_analyses_failed_total", Help: "Analyses that failed."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rca_analysis_duration_seconds", Help: "Time to collect, analyse and attach one alert group's analysis.",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 10)}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rca_queue_depth", Help: "Alert groups waiting for a worker."}),
	}
	for _, r := range []string{"unauthorized", "too_large", "bad_request", "method", "queue_full", "storage"} {
		s.m.rejected.WithLabelValues(r)
	}
	s.reg.MustRegister(s.m.received, s.m.rejected, s.m.opened, s.m.analyses, s.m.failed, s.m.duration, s.m.depth)

	groups, err := loadGroups(cfg.Store.Dir)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		s.groups[g.GroupKey] = &groupSlot{g: g}
		s.index(g)
	}
	return s, nil
}

// index maps the fingerprints of a group that has an incident to it.
// Called with s.mu held, or before the server runs.
func (s *Server) index(g *group) {
	if g.Incident == "" {
		return
	}
	for fp := range g.Alerts {
		s.byFP[fp] = g.GroupKey
	}
}

// Start starts the workers and queues the groups whose incident log is
// behind (work a restart interrupted).
func (s *Server) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	for range s.cfg.Workers {
		s.workers.Add(1)
		go s.work(ctx)
	}
	s.mu.Lock()
	var behind []string
	for key, slot := range s.groups {
		if slot.g.needsWork() || slot.g.Opening {
			behind = append(behind, key)
		}
	}
	s.mu.Unlock()
	for _, key := range behind {
		if err := s.enqueue(key); err != nil {
			s.log.Warn("cannot queue an interrupted alert group yet; its next notification will", "group", mark(key), "err", err)
		}
	}
	if len(behind) > 0 {
		s.log.Info("resuming alert groups interrupted by a restart", "groups", len(behind))
	}
	s.ready.Store(true)
}

// Shutdown stops taking work and waits for the running analyses until ctx
// is done; then it cancels them. A cancelled analysis attaches nothing
// (evidence is filed whole or not at all), and its group stays marked as
// behind on disk, so the next start does it again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.drain)
	}
	for key, rt := range s.retrying {
		rt.t.Stop() // the group is saved as behind: the next start tries it
		delete(s.retrying, key)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if s.stop != nil {
			s.stop()
		}
		<-done
		return fmt.Errorf("abandoned the running analyses (they run again at the next start): %w", ctx.Err())
	}
}

// retryTimer is a group's pending retry and when it fires.
type retryTimer struct {
	t  *time.Timer
	at time.Time
}

// retryLater queues the group again after wait, to retry its analysis. A
// retry already pending stays when it comes first (the same try, asked
// again after a restart or a notification); one that would come later, a
// previous incident's, gives way.
func (s *Server) retryLater(key string, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	at := time.Now().Add(wait)
	if old := s.retrying[key]; old != nil && (!at.Before(old.at) || !old.t.Stop()) {
		return // it comes first, or it is firing now
	}
	rt := &retryTimer{at: at}
	rt.t = time.AfterFunc(wait, func() {
		s.mu.Lock() // held by retryLater until rt is in place
		if s.retrying[key] == rt {
			delete(s.retrying, key)
		}
		s.mu.Unlock()
		if err := s.enqueue(key); err != nil {
			s.log.Warn("cannot queue the alert group's retry; trying again later", "group", mark(key), "in", wait, "err", err)
			s.retryLater(key, wait)
		}
	})
	s.retrying[key] = rt
}

// errQueueFull is a notification for a new group when the queue is full.
var errQueueFull = errors.New("too many alert groups waiting for analysis")

// enqueue queues a group's work, once: a group already waiting is not
// queued again (its state on disk already holds the news), and a group
// being worked on is queued again when that work ends.
func (s *Server) enqueue(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil // the state is saved: the next start does it
	case s.running[key]:
		s.again[key] = true
		return nil
	case s.queued[key]:
		return nil
	case len(s.queued) >= s.cfg.Queue:
		return errQueueFull
	}
	s.queued[key] = true
	s.m.depth.Set(float64(len(s.queued)))
	s.queue <- key // never blocks: at most Queue keys are queued
	return nil
}

func (s *Server) work(ctx context.Context) {
	defer s.workers.Done()
	for {
		select {
		case <-s.drain:
			return
		case <-ctx.Done():
			return
		case key := <-s.queue:
			s.mu.Lock()
			delete(s.queued, key)
			s.m.depth.Set(float64(len(s.queued)))
			s.running[key] = true
			s.mu.Unlock()

			s.process(ctx, key)

			s.mu.Lock()
			delete(s.running, key)
			again := s.again[key]
			delete(s.again, key)
			s.mu.Unlock()
			if again && ctx.Err() == nil {
				if err := s.enqueue(key); err != nil {
					s.log.Warn("cannot queue the alert group again; its next notification will", "group", mark(key), "err", err)
				}
			}
		}
	}
}

// Handler serves the receiver, the health and readiness checks and the
// metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.receive)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "rca serve is healthy.\n")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "rca serve is not ready.", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "rca serve is ready.\n")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// reject answers a refused request with its one-line reason.
func (s *Server) reject(w http.ResponseWriter, code int, reason, msg string) {
	s.m.rejected.WithLabelValues(reason).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	// The token is never echoed, even if a body carried it.
	io.WriteString(w, strings.ReplaceAll(termui.OneLine(msg), s.cfg.Token, "[token]")+"\n")
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := strings.TrimSpace(h[len(prefix):])
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1
}

func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	s.m.received.Inc()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, http.StatusMethodNotAllowed, "method", "POST Alertmanager's webhook payload here")
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rca"`)
		s.reject(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token (Alertmanager: http_config.authorization.credentials_file)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.reject(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBody))
		return
	case err != nil:
		s.reject(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
		return
	}
	m, err := Parse(body)
	if err != nil {
		s.reject(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	key, err := s.accept(m)
	switch {
	case errors.Is(err, errQueueFull):
		w.Header().Set("Retry-After", "10")
		s.reject(w, http.StatusServiceUnavailable, "queue_full", err.Error())
		return
	case err != nil:
		s.log.Error("cannot save the alert group", "group", mark(m.GroupKey), "err", err)
		s.reject(w, http.StatusInternalServerError, "storage", "cannot save the notification: see rca serve's log")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "{\"status\":\"accepted\",\"group\":%q}\n", mark(key))
}

// accept saves the notification into its group and queues the group.
func (s *Server) accept(m Message) (string, error) {
	s.mu.Lock()
	slot, ok := s.groups[m.GroupKey]
	if !ok {
		slot = &groupSlot{g: &group{GroupKey: m.GroupKey, Alerts: map[string]*alertState{}}}
		s.groups[m.GroupKey] = slot
	}
	s.mu.Unlock()

	slot.mu.Lock()
	changed := slot.g.merge(m)
	if changed || !ok {
		if err := slot.g.save(s.cfg.Store.Dir); err != nil {
			slot.mu.Unlock()
			if !ok {
				// Unsaved, the group must not exist: Alertmanager retries.
				s.mu.Lock()
				if s.groups[m.GroupKey] == slot {
					delete(s.groups, m.GroupKey)
				}
				s.mu.Unlock()
			}
			return m.GroupKey, err
		}
	}
	work := slot.g.needsWork()
	slot.mu.Unlock()
	s.log.Debug("notification", "group", mark(m.GroupKey), "status", m.Status, "alerts", len(m.Alerts), "changed", changed)
	if !work {
		return m.GroupKey, nil // a repeat: the log already says it all
	}
	return m.GroupKey, s.enqueue(m.GroupKey)
}

// Serve serves the Handler on ln until ctx is done, with timeouts on reads
// and writes; then it shuts down: the listener closes, requests in flight
// finish, and the running analyses get grace to finish before they are
// abandoned (see Shutdown).
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	herr := hs.Shutdown(sctx)
	werr := s.Shutdown(sctx)
	<-errc
	return errors.Join(herr, werr)
}
