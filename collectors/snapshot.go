// Package collectors turns an incident window into a telemetry.Bundle: from
// a recorded snapshot on disk, a live Prometheus or Loki, or a labelled dataset.
package collectors

import (
	"context"
	"errors"

	"github.com/rca-tool/rca/telemetry"
)

// ReadSnapshot loads a snapshot directory into a bundle.
func ReadSnapshot(ctx context.Context, dir string) (telemetry.Bundle, error) {
	return telemetry.Bundle{}, errors.New("not implemented")
}

// WriteSnapshot records a bundle as a snapshot directory.
func WriteSnapshot(ctx context.Context, dir string, b telemetry.Bundle) error {
	return errors.New("not implemented")
}
