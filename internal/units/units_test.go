package units

import (
	"math"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		// bytes in binary multiples, never as an exponent (issue 16:
		// "2.16e+07 bytes" beside "20.6 MiB").
		{21.6e6, "bytes", "20.6 MiB"},
		{512, "bytes", "512 B"},
		{1536, "bytes", "1.5 KiB"},
		{3 << 30, "bytes", "3 GiB"},
		{-2048, "bytes", "-2 KiB"},
		{1e308, "bytes", "1e+308 B"},
		{2e8, "B", "191 MiB"},
		// seconds from µs to hours.
		{0.0674, "seconds", "67.4ms"},
		{0.0000123, "seconds", "12.3µs"},
		{0.9996, "seconds", "1s"},
		{29.8, "seconds", "29.8s"},
		{90, "seconds", "1.5min"},
		{7200, "s", "2h"},
		{0, "seconds", "0s"},
		// ratios as percentages, percents as they are.
		{0.383, "ratio", "38.3%"},
		{0.00143, "ratio", "0.143%"},
		{1, "ratio", "100%"},
		{12.5, "percent", "12.5%"},
		// rates.
		{9.75, "per_second", "9.75/s"},
		{1234, "per_second", "1.23k/s"},
		{29, "per_minute", "29/min"},
		{21.6e6, "bytes/s", "20.6 MiB/s"},
		{0.25, "seconds/s", "250ms/s"},
		// cores.
		{1.95, "cores", "1.95 cores"},
		{1, "cores", "1 core"},
		// plain numbers and counts, with SI suffixes.
		{1830, "", "1.83k"},
		{999950, "count", "1M"},
		{2.5e9, "count", "2.5G"},
		{math.Copysign(0, -1), "", "0"},
		{0.000123456, "", "0.000123"},
		{3, "widgets", "3 widgets"},
		{3e6, "widgets/s", "3M widgets/s"},
		// what a flat or empty baseline may leave behind.
		{math.NaN(), "bytes", "n/a"},
		{math.Inf(1), "seconds", "+Inf"},
		{math.Inf(-1), "", "-Inf"},
		{0.38, "ratio", "38%"},
		{0.001, "ratio", "0.1%"},
		{0.123456, "ratio", "12.3%"},
		{0.2, "seconds", "200ms"},
		{30, "seconds", "30s"},
		{7200, "seconds", "2h"},
		{412 * 1024 * 1024, "bytes", "412 MiB"},
		{0.5, "per_second", "0.5/s"},
		{-0.25, "count", "-0.25"},
		{math.NaN(), "ratio", "n/a"},
		// Defect 5 of issue 17: 1e308 printed as a 309-digit number.
		{1e308, "cores", "1e+308 cores"},
		{-1e308, "", "-1e+308"},
		{math.MaxFloat64, "per_second", "1.8e+308/s"},
		{999e12, "", "999T"},
		{1e15, "", "1e+15"},
		{3 << 50, "bytes", "3 PiB"},
		{1e-300, "", "1e-300"},
		{1.5e-7, "percent", "1.5e-07%"},
		{1e308, "seconds", "2.78e+304h"},
	}
	for _, tt := range tests {
		if got := Format(tt.v, tt.unit); len(got) > 20 {
			t.Errorf("Format(%v, %q) = %q: %d characters", tt.v, tt.unit, got, len(got))
		}
	}
	for _, tt := range tests {
		if got := Format(tt.v, tt.unit); got != tt.want {
			t.Errorf("Format(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{200 * time.Millisecond, "200ms"},
		{1500 * time.Millisecond, "1.5s"},
		{30 * time.Second, "30s"},
		{60 * time.Second, "1m"},
		{90 * time.Second, "1m30s"},
		{5*time.Minute + 400*time.Millisecond, "5m"},
		{2 * time.Hour, "2h"},
		{7 * 24 * time.Hour, "7d"},
		{-30 * time.Second, "-30s"},
		{12 * time.Second, "12s"},
		{70 * time.Second, "1m10s"},
		{30 * time.Minute, "30m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{-12 * time.Second, "-12s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
