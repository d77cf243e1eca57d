package config

import (
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/rca-tool/rca/timerange"
)

// IncidentsDir is the incidents directory: --incidents-dir, incident.dir,
// then ./incidents.
func (l *Layers) IncidentsDir() string {
	dir := l.V.GetString("incidents-dir")
	if dir == "" {
		dir = l.File.Incident.Dir
	}
	if dir == "" {
		dir = "incidents"
	}
	return dir
}

// Author signs log entries: --author, incident.author, $USER, $USERNAME,
// the login name.
func (l *Layers) Author() string {
	for _, s := range []string{l.V.GetString("author"), l.File.Incident.Author, os.Getenv("USER"), os.Getenv("USERNAME")} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// UpdateEvery is the stakeholder update cadence: --every, then
// incident.update_every, then RCA_EVERY or --every's default.
func (l *Layers) UpdateEvery() (time.Duration, error) {
	if l.Flags.Changed("every") || l.File.Incident.UpdateEvery == "" {
		return l.Duration("every")
	}
	return timerange.ParseDuration(l.File.Incident.UpdateEvery)
}
