// Package demo generates the bundled demo incident ("pi-digits") and its
// variants: a seeded, deterministic simulation of a small shop (a gateway in
// front of checkout, cart, catalog and payments, with two databases) in which
// one service is deployed with a bad change and the failure climbs the call
// graph to the users. The output is a telemetry.Bundle shaped like what the
// live collectors return, so the analysis can be tested on it end to end.
// README.md in this directory tells the story, the decoys and how
// testdata/incidents/pi-digits is recorded from a real Prometheus.
package demo
