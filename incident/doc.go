// Package incident keeps the incident log: an append-only JSON-lines file per
// incident that is the source of truth, a Markdown rendering regenerated from
// it, the evidence folder, and the drafts built from it (stakeholder updates,
// the blameless review).
package incident
