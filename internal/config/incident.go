package config

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/rca-tool/rca/timerange"
)

// IncidentsDir is the incidents directory: --incidents-dir (or
// RCA_INCIDENTS_DIR), then incident.dir in the config file, then the one
// FindIncidents finds from cwd, the working directory. away is true when
// that is not cwd's ./incidents, so commands can say where the store is.
func (l *Layers) IncidentsDir(cwd string) (dir string, away bool) {
	if dir = l.V.GetString("incidents-dir"); dir != "" {
		return dir, false
	}
	if dir = l.File.Incident.Dir; dir != "" {
		return dir, false
	}
	return FindIncidents(cwd)
}

// FindIncidents is the default incidents directory for commands run in
// cwd, the same from every folder of a repository: the nearest incident
// store named incidents in cwd or a folder above it, up to the root of
// the git repository cwd is in; with none, an incidents folder at that
// root. Outside a repository it is ./incidents. A folder named incidents
// that holds something else (recorded snapshots, say) is passed over.
// The directory is relative ("incidents") when it is cwd's, absolute
// otherwise, and away says so.
func FindIncidents(cwd string) (dir string, away bool) {
	if cwd == "" || !filepath.IsAbs(cwd) {
		return incidentsName, false
	}
	root := gitRoot(cwd)
	if root == "" {
		return incidentsName, false
	}
	for d := cwd; ; d = filepath.Dir(d) {
		if isIncidentStore(filepath.Join(d, incidentsName)) {
			return relIfCwd(d, cwd)
		}
		if d == root || filepath.Dir(d) == d {
			break
		}
	}
	return relIfCwd(root, cwd)
}

const incidentsName = "incidents"

func relIfCwd(parent, cwd string) (string, bool) {
	if parent == cwd {
		return incidentsName, false
	}
	return filepath.Join(parent, incidentsName), true
}

// gitRoot is the nearest folder at or above dir with a .git (a folder, or
// a file in a worktree), or "".
func gitRoot(dir string) string {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// isIncidentStore reports whether dir is an incidents directory: empty,
// or holding a current incident or an incident's log.
func isIncidentStore(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(ents) == 0 {
		return true
	}
	for _, e := range ents {
		if e.Name() == "current" && e.Type().IsRegular() {
			return true
		}
	}
	for _, e := range ents {
		if e.IsDir() {
			if fi, err := os.Stat(filepath.Join(dir, e.Name(), "log.jsonl")); err == nil && fi.Mode().IsRegular() {
				return true
			}
		}
	}
	return false
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
