package timerange

import (
	"testing"
	"time"
)

func TestDurationValue(t *testing.T) {
	var nilValue *DurationValue
	if s := nilValue.String(); s != "" {
		t.Errorf("nil String = %q", s)
	}
	d := DurationValue(0)
	if s := d.String(); s != "" {
		t.Errorf("zero String = %q, want none (no default shown in help)", s)
	}
	if d.Type() != "duration" {
		t.Errorf("Type = %q", d.Type())
	}
	if err := d.Set("7d"); err != nil || time.Duration(d) != 7*24*time.Hour || d.String() != "7d" {
		t.Errorf("Set(7d): %v, %v, %q", err, time.Duration(d), d.String())
	}
	if err := d.Set("1h30m"); err != nil || time.Duration(d) != 90*time.Minute {
		t.Errorf("Set(1h30m): %v, %v", err, time.Duration(d))
	}
	before := d
	if err := d.Set("soon"); err == nil || d != before {
		t.Errorf("Set(soon): %v, value %v (want an error and the value kept)", err, time.Duration(d))
	}
}
