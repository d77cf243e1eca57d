// Package catalog maps metrics to layers, directions, units and services: the
// signal catalog described in ../shared/DESIGN.md. The built-in catalog is
// configs/catalog.yaml; a user catalog extends it without code changes.
package catalog
