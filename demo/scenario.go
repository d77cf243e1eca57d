package demo

import (
	"fmt"
	"time"
)

// Fault is what the bad deploy does to the faulty service.
type Fault string

// Faults.
const (
	// FaultCPU is a CPU-heavy code path: the service saturates its CPU limit.
	FaultCPU Fault = "cpu"
	// FaultMemoryLeak is an unbounded cache: the working set climbs and GC
	// pauses grow until requests stall.
	FaultMemoryLeak Fault = "memory-leak"
)

// Scenario says which incident to generate. The zero value of every field
// but Seed means its default.
type Scenario struct {
	Seed int64
	// FaultyService is the service that gets the bad deploy: one of
	// gateway, checkout, cart, catalog, payments. Default checkout.
	FaultyService string
	// Fault is what the deploy breaks. Default FaultCPU.
	Fault Fault
	// Start is the start of the 30-minute incident window; the baseline is
	// the hour before it. Default 2026-11-24T13:50:00Z.
	Start time.Time
	// Step is the sample interval of every series. Default 30s.
	Step time.Duration
}

// Defaults of a Scenario.
const (
	DefaultService = "checkout"
	DefaultFault   = FaultCPU
	DefaultStep    = 30 * time.Second
)

// DefaultStart is the default window start, 2026-11-24T13:50:00Z.
func DefaultStart() time.Time { return time.Date(2026, 11, 24, 13, 50, 0, 0, time.UTC) }

// Durations of the story, relative to Scenario.Start.
const (
	WindowLength   = 30 * time.Minute
	BaselineLength = time.Hour
	// DeployOffset is when the faulty service is deployed.
	DeployOffset = 12 * time.Minute
	// DecoyDeployOffset is when the unrelated deploy lands: early in the
	// window, nine minutes before the real one, so "the latest change before
	// the symptoms" and "any change in the window" are not the same answer.
	DecoyDeployOffset = 3*time.Minute + 10*time.Second
	// BlipOffset is when the unrelated memory blip starts; BlipLength its length.
	BlipOffset = 6*time.Minute + 30*time.Second
	BlipLength = 90 * time.Second
)

// PiDigits is the bundled story: checkout v1.4.2 computes pi to 10,000
// places for every receipt footer and saturates its CPU.
func PiDigits() Scenario {
	return Scenario{Seed: 1, FaultyService: "checkout", Fault: FaultCPU, Start: DefaultStart(), Step: DefaultStep}
}

// withDefaults fills the zero fields and checks the rest.
func (s Scenario) withDefaults() (Scenario, error) {
	if s.FaultyService == "" {
		s.FaultyService = DefaultService
	}
	if s.Fault == "" {
		s.Fault = DefaultFault
	}
	if s.Start.IsZero() {
		s.Start = DefaultStart()
	}
	s.Start = s.Start.UTC()
	if s.Step == 0 {
		s.Step = DefaultStep
	}
	switch {
	case s.Fault != FaultCPU && s.Fault != FaultMemoryLeak:
		return s, fmt.Errorf("demo: unknown fault %q (want %q or %q)", s.Fault, FaultCPU, FaultMemoryLeak)
	case !faultable(s.FaultyService):
		return s, fmt.Errorf("demo: service %q cannot be the faulty one (want one of %v)", s.FaultyService, FaultableServices())
	case s.Step < time.Second || s.Step > 5*time.Minute:
		return s, fmt.Errorf("demo: step %s out of range (1s .. 5m)", s.Step)
	}
	return s, nil
}

// Timeline is when things happen in a scenario. Onsets are the designed
// moments each layer starts to move; the generated values cross a threshold
// a step or two later, as real data does.
type Timeline struct {
	Window, Baseline [2]time.Time
	Deploy           time.Time // the faulty deploy
	DecoyDeploy      time.Time // the unrelated deploy
	Resource         time.Time // CPU (or memory) of the faulty service starts to climb
	Latency          time.Time // the faulty service's own latency starts to climb
	Upstream         time.Time // its callers' upstream timeouts/errors start
	Symptom          time.Time // the next layer up answers 5xx (one hop per lag beyond)
}

// Timeline returns the designed timeline of the scenario.
func (s Scenario) Timeline() (Timeline, error) {
	s, err := s.withDefaults()
	if err != nil {
		return Timeline{}, err
	}
	d := s.Start.Add(DeployOffset)
	res := d.Add(resourceDelay(s.Fault))
	lat := res.Add(hopLag)
	if s.Fault == FaultMemoryLeak {
		lat = d.Add(gcDelay + hopLag)
	}
	return Timeline{
		Window:      [2]time.Time{s.Start, s.Start.Add(WindowLength)},
		Baseline:    [2]time.Time{s.Start.Add(-BaselineLength), s.Start},
		Deploy:      d,
		DecoyDeploy: s.Start.Add(DecoyDeployOffset),
		Resource:    res,
		Latency:     lat,
		Upstream:    lat.Add(hopLag),
		Symptom:     lat.Add(2 * hopLag),
	}, nil
}

// hopLag is how long a failure takes to show one layer further up: the
// time for a slowed request to hit a client timeout and for a 2m rate() to
// pick the new counts up.
const hopLag = 30 * time.Second

// Delays after the deploy, by fault.
const (
	cpuDelay  = 30 * time.Second  // the first new pod takes traffic and pegs its CPU
	cpuRamp   = 30 * time.Second  // the second pod follows
	leakDelay = 30 * time.Second  // the cache starts filling as soon as traffic arrives
	gcDelay   = 150 * time.Second // GC pressure builds once the heap has grown
	gcRamp    = 180 * time.Second
)

func resourceDelay(f Fault) time.Duration {
	if f == FaultMemoryLeak {
		return leakDelay
	}
	return cpuDelay
}
