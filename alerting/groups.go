package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rca-tool/rca/incident"
	"github.com/rca-tool/rca/internal/atomicfile"
)

// groupsDir is where the groups are kept, beside the incidents: a folder
// whose leading dot keeps it out of rca log list.
const groupsDir = ".alertmanager"

// group is what rca knows of one Alertmanager group: the incident it
// opened and every alert it has heard of. It is saved (one file per group,
// replaced atomically) before a notification is acknowledged, so a restart
// loses nothing: work still to do is seen from the state alone.
type group struct {
	GroupKey string `json:"group_key"`
	Receiver string `json:"receiver,omitempty"`
	// Incident is the incident the group opened (or joined); "" before.
	Incident string `json:"incident,omitempty"`
	// Opening is set just before the incident is started: after a crash
	// right there, the incident is found by the group's mark in its start
	// entry instead of opened twice.
	Opening bool `json:"opening,omitempty"`
	// Analysed is set once the analysis was attached (or failed for good).
	Analysed bool `json:"analysed,omitempty"`
	// Failures counts the failed analyses of the incident; the next is
	// tried at RetryAt (Config.RetryWaits[Failures-1] after the last), not
	// before, whatever notifications come meanwhile.
	Failures int                    `json:"failures,omitempty"`
	RetryAt  time.Time              `json:"retry_at,omitzero"`
	Alerts   map[string]*alertState `json:"alerts"`
}

// alertState is one alert of the group: as last notified, and what the
// incident log says of it (Logged: the status last written, "" none).
type alertState struct {
	Alert
	Logged string `json:"logged,omitempty"`
	// LoggedStart is the startsAt of the firing the log shows: a new one
	// (the alert resolved and fired again) is news even when the
	// notification of its resolution was coalesced away.
	LoggedStart time.Time `json:"logged_start,omitzero"`
}

// forgetTries clears the count and the time of the next try of a failed
// analysis: the incident's analysis is done, or the group has a new one.
func (g *group) forgetTries() { g.Failures, g.RetryAt = 0, time.Time{} }

// behind says the log does not show the alert as it is.
func (a *alertState) behind() bool {
	return a.Logged != a.Status || (a.Status == StatusFiring && !a.LoggedStart.Equal(a.StartsAt))
}

// logged marks the alert as the log now shows it.
func (a *alertState) logged() {
	a.Logged = a.Status
	if a.Status == StatusFiring {
		a.LoggedStart = a.StartsAt
	}
}

// mark identifies the group in its incident's start entry.
func mark(groupKey string) string {
	sum := sha256.Sum256([]byte(groupKey))
	return hex.EncodeToString(sum[:8])
}

func (g *group) file(dir string) string {
	return filepath.Join(dir, groupsDir, mark(g.GroupKey)+".json")
}

// clone is a deep copy, for a worker to read without the lock.
func (g *group) clone() *group {
	c := *g
	c.Alerts = make(map[string]*alertState, len(g.Alerts))
	for fp, a := range g.Alerts {
		ac := *a
		c.Alerts[fp] = &ac
	}
	return &c
}

// merge takes in a notification. It reports whether anything changed.
func (g *group) merge(m Message) bool {
	changed := false
	if g.Receiver != m.Receiver {
		g.Receiver, changed = m.Receiver, true
	}
	for _, a := range m.Alerts {
		old, ok := g.Alerts[a.Fingerprint]
		if !ok {
			g.Alerts[a.Fingerprint] = &alertState{Alert: a}
			changed = true
			continue
		}
		// An older notification arriving late (a retry) never undoes a
		// newer one: a resolved alert stays resolved unless it starts again.
		if a.Status == old.Status && a.StartsAt.Equal(old.StartsAt) && a.EndsAt.Equal(old.EndsAt) {
			continue
		}
		if old.Status == StatusResolved && a.Status == StatusFiring && !a.StartsAt.After(old.StartsAt) {
			continue
		}
		old.Alert = a
		changed = true
	}
	return changed
}

// needsWork says whether the incident log is behind the group.
func (g *group) needsWork() bool {
	if g.Incident != "" && !g.Analysed {
		return true
	}
	for _, a := range g.Alerts {
		if a.behind() {
			if g.Incident == "" && a.Status == StatusResolved {
				continue // resolved before any incident: nothing to say
			}
			return true
		}
	}
	return false
}

// sortedAlerts are the alerts by start time, then fingerprint.
func (g *group) sortedAlerts() []*alertState {
	out := make([]*alertState, 0, len(g.Alerts))
	for _, a := range g.Alerts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out
}

// earliestStart is the earliest startsAt of the group's alerts.
func (g *group) earliestStart() time.Time {
	var t time.Time
	for _, a := range g.Alerts {
		if t.IsZero() || a.StartsAt.Before(t) {
			t = a.StartsAt
		}
	}
	return t
}

// save writes the group's file atomically.
func (g *group) save(dir string) error {
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, groupsDir), 0o755); err != nil {
		return fmt.Errorf("saving the alert group: %w", err)
	}
	if err := atomicfile.Write(g.file(dir), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("saving the alert group: %w", err)
	}
	return nil
}

// loadGroups reads every saved group. A file that cannot be read is an
// error: starting without it would open a second incident for its group.
func loadGroups(dir string) ([]*group, error) {
	ents, err := os.ReadDir(filepath.Join(dir, groupsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the alert groups: %w", err)
	}
	var out []*group
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, groupsDir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the alert group %s: %w", path, err)
		}
		var g group
		if err := json.Unmarshal(data, &g); err != nil {
			return nil, fmt.Errorf("reading the alert group %s: %w", path, err)
		}
		if g.Alerts == nil {
			g.Alerts = map[string]*alertState{}
		}
		out = append(out, &g)
	}
	return out, nil
}

// findOpened finds the incident whose start entry carries the group's
// mark: the one a crash interrupted before the group could record it.
func findOpened(ctx context.Context, s incident.Store, g *group) (string, error) {
	list, err := s.List(ctx)
	if err != nil {
		return "", err
	}
	tag := groupTag(g.GroupKey)
	for _, in := range list {
		l, err := s.Read(ctx, in.ID)
		if err != nil {
			continue
		}
		if st, ok := l.Start(); ok && strings.Contains(st.Text, tag) {
			return in.ID, nil
		}
	}
	return "", nil
}

// groupTag is the group's mark as written in the start entry.
func groupTag(groupKey string) string { return "Alertmanager group " + mark(groupKey) }
