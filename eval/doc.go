// Package eval scores root-cause rankers on labelled incident datasets
// (../shared/datasets, format version 1) with the field's metrics: AC@1,
// AC@3, AC@5 and Avg@5, per dataset and per fault type, with the time per
// case. It carries the reference baselines (N-Sigma, BARO) so that rca's
// ranker is always measured beside them, on the same cases, in one run.
package eval
