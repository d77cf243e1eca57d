// Package telemetry holds the plain data types every other package shares:
// windows, metric series, log lines, change events, topology edges and the
// Bundle that carries them from a collector to the analysis. It does no I/O.
package telemetry
