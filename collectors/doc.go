// Package collectors turns an incident's range into a telemetry.Bundle.
//
// Every place data comes from is a Source in a package of its own:
// prometheus and loki (live servers), grafana and changesfile (changes),
// git (links deploys to commits), snapshot (a recording replayed). Collect
// runs a list of them over one Range and merges what they read; the
// config layer (internal/config) builds that list. README.md in this
// directory says how to add a source.
package collectors
