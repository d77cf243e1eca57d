// Package timerange turns what an on-call engineer types (RFC3339, unix
// seconds, "now-30m", "-2h") into instants, and time-range flags into the
// analysis window and its baseline. It is pure: the caller passes "now".
package timerange
