package timerange

import "time"

// DurationValue is a command-line flag value (it implements pflag.Value)
// that reads durations with days and weeks (7d, 2w), which
// time.ParseDuration does not.
type DurationValue time.Duration

func (d *DurationValue) String() string {
	if d == nil || *d == 0 {
		return "" // so an unset flag shows no "(default 0)" in help
	}
	return FormatDuration(time.Duration(*d))
}

// Set parses s with ParseDuration.
func (d *DurationValue) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = DurationValue(v)
	return nil
}

// Type names the value in help: --lookback duration.
func (d *DurationValue) Type() string { return "duration" }
