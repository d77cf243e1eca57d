package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/internal/termui"
	"github.com/rca-tool/rca/workflow"
)

// process brings the incident log of one group up to date: it opens the
// incident, notes alerts that joined or resolved, and runs the analysis
// once. Only one worker processes a group at a time.
func (s *Server) process(ctx context.Context, key string) {
	s.mu.Lock()
	slot := s.groups[key]
	s.mu.Unlock()
	if slot == nil {
		return
	}
	slot.mu.Lock()
	g := slot.g.clone()
	slot.mu.Unlock()
	log := s.log.With("group", mark(key))

	// update applies what was done to the live group and saves it.
	update := func(f func(g *group)) {
		slot.mu.Lock()
		f(slot.g)
		err := slot.g.save(s.cfg.Store.Dir)
		snap := slot.g.clone()
		slot.mu.Unlock()
		if err != nil {
			log.Error("cannot save the alert group", "err", err)
		}
		s.mu.Lock()
		s.index(snap)
		s.mu.Unlock()
	}

	if err := s.openOrJoin(ctx, g, update, log); err != nil {
		log.Error("cannot open the incident", "err", err)
		return
	}
	if g.Incident == "" {
		return
	}
	if err := s.noteAlerts(ctx, g, update); err != nil {
		log.Error("cannot note the alerts", "incident", g.Incident, "err", err)
		return
	}
	if !g.Analysed {
		if wait := time.Until(g.RetryAt); wait > 0 {
			s.retryLater(key, wait) // after a restart, or a notification meanwhile
			return
		}
		if err := s.analyse(ctx, g); err != nil {
			if ctx.Err() != nil {
				log.Warn("analysis abandoned at shutdown; it runs again at the next start", "incident", g.Incident)
				return
			}
			failures := g.Failures + 1
			if failures <= len(s.cfg.RetryWaits) {
				wait := s.cfg.RetryWaits[failures-1]
				log.Warn("analysis failed; trying again", "incident", g.Incident, "in", wait, "attempt", failures, "err", err)
				update(func(live *group) { live.Failures, live.RetryAt = failures, time.Now().Add(wait) })
				s.retryLater(key, wait)
				return
			}
			log.Error("analysis failed", "incident", g.Incident, "attempts", failures, "err", err)
			s.note(ctx, g.Incident, fmt.Sprintf("rca could not analyse the alert's window (%s): %s (run rca analyze --incident %s by hand)",
				tries(failures), termui.OneLine(err.Error()), g.Incident))
		}
		update(func(live *group) { live.Analysed = true; live.forgetTries() })
	}
}

// tries says how many times an analysis was tried.
func tries(n int) string {
	if n == 1 {
		return "tried once"
	}
	return fmt.Sprintf("tried %d times", n)
}

// openOrJoin gives the group an incident when it has a firing alert and
// none, or only one the responders have resolved: the open incident of
// another group holding one of its alerts, else a new one.
func (s *Server) openOrJoin(ctx context.Context, g *group, update func(func(*group)), log *slog.Logger) error {
	firing := false
	for _, a := range g.Alerts {
		if a.Status == StatusFiring && a.behind() {
			firing = true
		}
	}
	if g.Incident != "" {
		if !firing {
			return nil
		}
		l, err := s.cfg.Store.Read(ctx, g.Incident)
		if err == nil && l.Status() != incident.StatusResolved {
			return nil
		}
		if err != nil && !errors.Is(err, incident.ErrNoIncident) {
			return err
		}
		// Resolved by the responders (or removed): this firing is a new incident.
		log.Info("the group's incident is resolved: opening a new one", "previous", g.Incident)
		g.Incident, g.Analysed = "", false
		g.forgetTries()
		for _, a := range g.Alerts {
			if a.Status == StatusFiring {
				a.Logged, a.LoggedStart = "", time.Time{}
			}
		}
	}
	if g.Opening && g.Incident == "" {
		id, err := findOpened(ctx, s.cfg.Store, g)
		if err != nil {
			return err
		}
		if id != "" {
			g.Incident, g.Opening = id, false
			markStarted(g)
			update(func(live *group) { live.Incident, live.Opening = id, false; copyLogged(live, g) })
			return nil
		}
	}
	if !firing && g.Incident == "" {
		return nil
	}
	if g.Incident != "" {
		return nil
	}
	// Another group's open incident that holds one of these alerts.
	s.mu.Lock()
	var other string
	for fp, a := range g.Alerts {
		if k, ok := s.byFP[fp]; ok && k != g.GroupKey && a.Status == StatusFiring {
			if slot := s.groups[k]; slot != nil {
				slot.mu.Lock()
				other = slot.g.Incident
				slot.mu.Unlock()
			}
		}
	}
	s.mu.Unlock()
	if other != "" {
		if l, err := s.cfg.Store.Read(ctx, other); err == nil && l.Status() != incident.StatusResolved {
			g.Incident, g.Analysed = other, true
			update(func(live *group) {
				live.Incident, live.Analysed = other, true
				live.forgetTries()
			})
			return nil
		}
	}

	update(func(live *group) { live.Opening = true })
	start, text := startEntry(g)
	id, err := s.cfg.Store.Start(ctx, incident.StartOptions{
		Title: start.Title(), Severity: severityOf(g), Impact: start.Annotations["description"],
		Author: s.cfg.Author, Time: start.StartsAt.UTC(), Recorded: s.cfg.Now().UTC(), Text: text,
		KeepCurrent: s.openCurrent(ctx),
	})
	if id == "" {
		update(func(live *group) { live.Opening = false }) // nothing was kept
		return err
	}
	if err != nil {
		log.Info("incident started with a warning", "incident", id, "warning", err.Error())
	}
	s.m.opened.Inc()
	g.Incident, g.Opening, g.Analysed = id, false, false
	markStarted(g)
	update(func(live *group) {
		live.Incident, live.Opening, live.Analysed = id, false, false
		live.forgetTries()
		copyLogged(live, g)
	})
	log.Info("opened incident", "incident", id)
	return nil
}

// openCurrent says whether the current incident is still open: then the
// new incident does not take its place, so a responder's next note does
// not land in an incident an alert just opened.
func (s *Server) openCurrent(ctx context.Context) bool {
	id, err := s.cfg.Store.Current()
	if err != nil {
		return false
	}
	l, err := s.cfg.Store.Read(ctx, id)
	return err == nil && l.Status() != incident.StatusResolved
}

// markStarted marks the firing alerts as written by the start.
func markStarted(g *group) {
	for _, a := range g.Alerts {
		if a.Status == StatusFiring {
			a.logged()
		}
	}
}

// copyLogged copies what the worker logged to the live group, for alerts
// still in the state it logged.
func copyLogged(live, done *group) {
	for fp, d := range done.Alerts {
		if a, ok := live.Alerts[fp]; ok && a.Status == d.Status && a.StartsAt.Equal(d.StartsAt) {
			a.Logged, a.LoggedStart = d.Logged, d.LoggedStart
		}
	}
}

// startEntry picks the alert the incident is named after (the earliest
// firing one) and writes the entry that lists the group's alerts with
// their labels and links.
func startEntry(g *group) (Alert, string) {
	var first *alertState
	var lines []string
	for _, a := range g.sortedAlerts() {
		if a.Status != StatusFiring {
			continue
		}
		if first == nil {
			first = a
		}
		lines = append(lines, describe(a.Alert, "firing since "+a.StartsAt.UTC().Format("2006-01-02 15:04:05 UTC")))
	}
	text := first.Title() + ": opened by " + groupTag(g.GroupKey)
	if g.Receiver != "" {
		text += " (receiver " + g.Receiver + ")"
	}
	text += ": " + strings.Join(lines, "; ")
	return first.Alert, text
}

// describe is an alert in one line: name, what happened, labels, links.
func describe(a Alert, what string) string {
	s := a.Name() + " " + what + " " + LabelString(a.Labels)
	var links []string
	if a.GeneratorURL != "" {
		links = append(links, "source "+a.GeneratorURL)
	}
	for _, k := range []string{"runbook_url", "dashboard_url"} {
		if u := a.Annotations[k]; u != "" {
			links = append(links, strings.TrimSuffix(k, "_url")+" "+u)
		}
	}
	if len(links) > 0 {
		s += " (" + strings.Join(links, ", ") + ")"
	}
	return s
}

// severityOf is the worst severity among the group's firing alerts.
func severityOf(g *group) string {
	best := ""
	for _, a := range g.Alerts {
		if a.Status != StatusFiring {
			continue
		}
		if sev := Severity(a.Labels["severity"]); sev != "" && (best == "" || sev < best) {
			best = sev
		}
	}
	return best
}

// noteAlerts writes an entry for every alert whose status the log does not
// show yet: one that joined the group, fired again, or resolved.
func (s *Server) noteAlerts(ctx context.Context, g *group, update func(func(*group))) error {
	for _, a := range g.sortedAlerts() {
		if !a.behind() {
			continue
		}
		var text string
		switch {
		case a.Status == StatusResolved && a.Logged == "" && !a.EndsAt.IsZero():
			text = describe(a.Alert, "fired and resolved at "+a.EndsAt.UTC().Format("15:04:05 UTC"))
		case a.Status == StatusResolved:
			at := "(no end time)"
			if !a.EndsAt.IsZero() {
				at = "at " + a.EndsAt.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			text = "Alertmanager: " + describe(a.Alert, "resolved "+at) + "; the incident stays open until a responder resolves it"
		case a.Logged != "":
			text = "Alertmanager: " + describe(a.Alert, "firing again since "+a.StartsAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		default:
			text = "Alertmanager: " + describe(a.Alert, "joined the group, firing since "+a.StartsAt.UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		if err := s.note(ctx, g.Incident, text); err != nil {
			return err
		}
		a.logged()
		done := *a
		update(func(live *group) {
			if la, ok := live.Alerts[done.Fingerprint]; ok && la.Status == done.Status && la.StartsAt.Equal(done.StartsAt) {
				la.Logged, la.LoggedStart = done.Logged, done.LoggedStart
			}
		})
	}
	return nil
}

// note appends a note to the incident.
func (s *Server) note(ctx context.Context, id, text string) error {
	if _, err := s.cfg.Store.Append(ctx, id, incident.Entry{Time: s.cfg.Now().UTC(), Kind: incident.KindNote, Author: s.cfg.Author, Text: text}); err != nil {
		return err
	}
	s.recorded(ctx, id)
	return nil
}

func (s *Server) recorded(ctx context.Context, id string) {
	if s.cfg.Recorded != nil {
		s.cfg.Recorded(ctx, s.cfg.Store, id)
		return
	}
	if err := s.cfg.Store.Render(ctx, id); err != nil {
		s.log.Warn("log.md could not be regenerated", "incident", id, "err", err)
	}
}

// analyse runs impact and analyze over the window around the group's
// earliest start, attaches both with their evidence, and posts the first
// stakeholder update when a webhook is configured.
func (s *Server) analyse(ctx context.Context, g *group) error {
	started := time.Now()
	s.m.analyses.Inc()
	err := s.runAnalysis(ctx, g)
	s.m.duration.Observe(time.Since(started).Seconds())
	if err != nil {
		s.m.failed.Inc()
	}
	return err
}

func (s *Server) runAnalysis(ctx context.Context, g *group) error {
	st := s.cfg.Store
	l, err := st.Read(ctx, g.Incident)
	if err != nil {
		return err
	}
	run, err := s.cfg.Analyse(ctx, g.earliestStart(), s.cfg.Now(), workflow.NotedChanges(l))
	if err != nil {
		return err
	}
	clock := func() time.Time { return s.cfg.Now() }
	if _, err := workflow.AttachImpact(ctx, st, g.Incident, clock, s.cfg.Author, run.Impact()); err != nil {
		return fmt.Errorf("attaching the impact: %w", err)
	}
	s.recorded(ctx, g.Incident)
	dir, err := workflow.AttachAnalysis(ctx, st, g.Incident, clock, s.cfg.Author, run)
	if err != nil {
		return fmt.Errorf("attaching the analysis: %w", err)
	}
	s.recorded(ctx, g.Incident)
	s.log.Info("attached the analysis", "incident", g.Incident, "evidence", dir)
	if s.cfg.Post == nil {
		return nil
	}
	if l, err = st.Read(ctx, g.Incident); err != nil {
		return err
	}
	u := incident.DraftUpdate(l, "", s.cfg.Now(), s.cfg.UpdateEvery)
	to, err := s.cfg.Post(ctx, u.Text)
	if err != nil {
		s.log.Warn("the first stakeholder update was not posted", "incident", g.Incident, "err", termui.OneLine(err.Error()))
		return nil
	}
	if _, err := st.Append(ctx, g.Incident, incident.Entry{Time: s.cfg.Now().UTC(), Kind: incident.KindUpdate, Author: s.cfg.Author, Text: u.Text, Status: u.Status, PostedTo: to}); err != nil {
		return err
	}
	s.recorded(ctx, g.Incident)
	return nil
}
