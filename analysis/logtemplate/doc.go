// Package logtemplate mines log templates, Drain-style: it masks the
// variable values of a line (numbers, durations, IPs, ids, pod suffixes),
// clusters lines into templates with <*> where they differ, and gives each
// template a stable id and a regular expression that matches its lines.
package logtemplate
