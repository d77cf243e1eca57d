// Package peakmem samples the Go heap while a benchmark runs, for the peak
// live heap a piece of work needs (B/op counts everything allocated, freed
// or not; the peak is what bounds the process).
package peakmem

import (
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

const heapObjects = "/memory/classes/heap/objects:bytes"

// Sampler reads the bytes of live and not-yet-swept heap objects every
// millisecond until Stop.
type Sampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// Start begins sampling.
func Start() *Sampler {
	s := &Sampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sample := []metrics.Sample{{Name: heapObjects}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value; v.Kind() == metrics.KindUint64 {
				s.peak = max(s.peak, v.Uint64())
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak heap in bytes.
func (s *Sampler) Stop() uint64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

// CPUTime is the CPU time the process has used so far, user and system,
// on all threads (the GC's included): on a machine shared with other work
// it moves less than the wall time does.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Live is the bytes of heap objects now; after a runtime.GC, what is live.
func Live() uint64 {
	sample := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(sample)
	if v := sample[0].Value; v.Kind() == metrics.KindUint64 {
		return v.Uint64()
	}
	return 0
}
