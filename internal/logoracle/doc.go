// Package logoracle counts log lines the simple way, and compares faster
// or remote counts (Loki's metric queries) with it, for tests.
package logoracle
