// Package synth generates large labelled cases in the dataset format, for
// benchmarks of scale: Services services with Metrics series each (cAdvisor
// style), Points samples per series, and one CPU step on one service. The
// values are a pure function of (seed, series, point), so the same Spec
// always gives the same bytes, and nothing generated is ever committed.
package synth

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Spec is the shape of a generated case.
type Spec struct {
	Services int
	// Metrics is the number of series per service, at most len(Kinds).
	Metrics int
	// Points is the number of samples per series; the last quarter is the
	// incident window, the rest the baseline.
	Points int
	// Step is the sampling interval in seconds (10 when 0).
	Step int64
	Seed uint64
}

// Series is the total number of series of the case.
func (s Spec) Series() int { return s.Services * s.Metrics }

// Kind is one generated metric: its name, its level and noise, and whether
// it is a counter (cumulative, as cAdvisor exports it).
type Kind struct {
	Metric  string
	Level   float64
	Noise   float64
	Counter bool
}

// Kinds are the metrics of a service, in column order. The first is the
// CPU counter that steps on the faulty service.
var Kinds = []Kind{
	{"container_cpu_usage_seconds_total", 0.3, 0.02, true},
	{"container_memory_usage_bytes", 2.5e8, 2e6, false},
	{"container_memory_working_set_bytes", 2.0e8, 2e6, false},
	{"container_network_receive_bytes_total", 5e4, 5e3, true},
	{"container_network_transmit_bytes_total", 4e4, 4e3, true},
	{"container_fs_usage_bytes", 1.2e7, 1e4, false},
	{"container_threads", 40, 2, false},
	{"container_sockets", 25, 3, false},
	{"container_file_descriptors", 60, 3, false},
	{"container_processes", 4, 0.5, false},
}

// Start is the unix second of the first sample.
const Start = 1_700_000_000

func (s Spec) step() int64 {
	if s.Step <= 0 {
		return 10
	}
	return s.Step
}

// BaselinePoints is the number of samples in the baseline.
func (s Spec) BaselinePoints() int { return s.Points - s.Points/4 }

// Faulty is the index of the faulty service.
func (s Spec) Faulty() int { return int(s.Seed % uint64(max(s.Services, 1))) }

// Service is the name of service i.
func Service(i int) string { return fmt.Sprintf("svc-%05d", i) }

// Onset is the index of the first sample of the CPU step: five minutes
// into the window.
func (s Spec) Onset() int { return s.BaselinePoints() + int(300/s.step()) }

func (s Spec) validate() error {
	switch {
	case s.Services < 1:
		return errors.New("synth: at least one service")
	case s.Metrics < 1 || s.Metrics > len(Kinds):
		return fmt.Errorf("synth: metrics per service must be 1..%d", len(Kinds))
	case s.Points < 8:
		return errors.New("synth: at least 8 points")
	case s.Onset() >= s.Points:
		return errors.New("synth: the window is too short for the step five minutes in")
	}
	return nil
}

// noise is a uniform value in [-1, 1) from (seed, series, point): splitmix64.
func noise(seed uint64, series, point int) float64 {
	z := seed + uint64(series)*0x9e3779b97f4a7c15 + uint64(point)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/(1<<52) - 1
}

// rate is series col's per-second rate (or level, for a gauge) at point j.
func (s Spec) rate(svc, k, j int) float64 {
	kd := Kinds[k]
	col := svc*s.Metrics + k
	v := kd.Level*(1+0.2*float64(svc%5)/5) + kd.Noise*noise(s.Seed, col, j)
	if k == 0 && svc == s.Faulty() && j >= s.Onset() {
		v += 1.6 // the CPU step: 1.6 more cores
	}
	return math.Max(v, 0)
}

// WriteCase writes the case folder dir/case.json and dir/metrics.csv,
// streaming the rows: memory stays at one row of cumulative counters.
func WriteCase(ctx context.Context, dir string, s Spec) error {
	if err := s.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	step := s.step()
	base := s.BaselinePoints()
	at := func(j int) int64 { return Start + int64(j)*step }
	cf := map[string]any{
		"id":         filepath.Base(dir),
		"system":     "synth",
		"fault":      map[string]any{"type": "cpu-step", "start": at(s.Onset()), "end": at(s.Points)},
		"root_cause": map[string]any{"service": Service(s.Faulty()), "metric": Kinds[0].Metric},
		"window":     map[string]int64{"from": at(base), "to": at(s.Points)},
		"baseline":   map[string]int64{"from": at(0), "to": at(base)},
	}
	js, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "case.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := s.writeCSV(ctx, bufio.NewWriterSize(f, 1<<20)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

func (s Spec) writeCSV(ctx context.Context, w *bufio.Writer) error {
	w.WriteString("timestamp")
	for svc := range s.Services {
		for k := range s.Metrics {
			fmt.Fprintf(w, `,"%s{service=""%s"",pod=""%s-0""}"`, Kinds[k].Metric, Service(svc), Service(svc))
		}
	}
	w.WriteByte('\n')
	cum := make([]float64, s.Series())
	var buf []byte
	for j := range s.Points {
		if j%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		buf = strconv.AppendInt(buf[:0], Start+int64(j)*s.step(), 10)
		for svc := range s.Services {
			for k := range s.Metrics {
				v := s.rate(svc, k, j)
				if Kinds[k].Counter {
					c := svc*s.Metrics + k
					cum[c] += v * float64(s.step())
					v = cum[c]
				}
				buf = append(buf, ',')
				buf = strconv.AppendFloat(buf, v, 'g', 10, 64)
			}
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}
