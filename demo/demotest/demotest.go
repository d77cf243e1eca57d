// Package demotest gives tests the demo incident's bundle.
package demotest

import (
	"testing"

	"github.com/rca-tool/rca/demo"
	"github.com/rca-tool/rca/telemetry"
)

// PiDigits is the bundle of the demo incident (demo.PiDigits); a failure
// to generate it fails tb.
func PiDigits(tb testing.TB) telemetry.Bundle {
	tb.Helper()
	b, err := demo.Generate(demo.PiDigits())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
