// Package buildinfo says which build of rca is running.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Write prints what the binary knows about its own build. Version
// and commit come from the module and VCS stamps that "go build" and
// "go install" embed; "go run" and tests may have neither.
func Write(w io.Writer, info *debug.BuildInfo) error {
	version, goVersion := "unknown", runtime.Version()
	var rev, when, modified string
	if info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	if _, err := fmt.Fprintf(w, "rca %s\n%s %s/%s\n", version, goVersion, runtime.GOOS, runtime.GOARCH); err != nil {
		return fmt.Errorf("writing version: %w", err)
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if when != "" {
			when = " " + when
		}
		if _, err := fmt.Fprintf(w, "commit %s%s%s\n", rev, when, modified); err != nil {
			return fmt.Errorf("writing version: %w", err)
		}
	}
	return nil
}
