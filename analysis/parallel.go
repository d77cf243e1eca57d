package analysis

import (
	"runtime"
	"sync"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// minChunk is the fewest items a worker of parallel takes: below it the
// work is not worth a goroutine.
const minChunk = 256

// parallel calls do on consecutive ranges [lo, hi) that cover [0, n), on up
// to GOMAXPROCS goroutines at once, and returns when all are done. Each
// range is handled by one call, so do writes only the slots of its own
// range and the result does not depend on the number of cores.
func parallel(n int, do func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+minChunk-1)/minChunk)
	if workers <= 1 {
		if n > 0 {
			do(0, n)
		}
		return
	}
	// More chunks than workers, so a slow chunk does not hold the others up.
	chunks := workers * 4
	size := (n + chunks - 1) / chunks
	next := make(chan int, chunks)
	for lo := 0; lo < n; lo += size {
		next <- lo
	}
	close(next)
	var (
		wg     sync.WaitGroup
		once   sync.Once
		panicV any
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic goes back to the caller's goroutine, as it would
			// without the workers (rca eval reports it as the case's error).
			defer func() {
				if p := recover(); p != nil {
					once.Do(func() { panicV = p })
				}
			}()
			for lo := range next {
				do(lo, min(lo+size, n))
			}
		}()
	}
	wg.Wait()
	if panicV != nil {
		panic(panicV)
	}
}

const maxIntervalSec = 100 * 365 * 24 * 3600

// wallClock reports whether no sample carries a monotonic clock reading
// (none decoded from numbers does): between such a sample and any time,
// wallInterval is Sub.
func wallClock(pts []telemetry.Point) bool {
	for i := range pts {
		if t := pts[i].T; t != t.Round(0) {
			return false
		}
	}
	return true
}

// scanTimes is wallClock, and whether the points are in time order. Two
// plain loops run faster than one doing both; the order of wall-clock
// times is that of their seconds and nanoseconds.
func scanTimes(pts []telemetry.Point) (wall, sorted bool) {
	wall = wallClock(pts)
	if !wall {
		for i := 1; i < len(pts); i++ {
			if pts[i].T.Before(pts[i-1].T) {
				return false, false
			}
		}
		return false, true
	}
	var sec int64
	var nsec int
	for i := range pts {
		t := pts[i].T
		s, ns := t.Unix(), t.Nanosecond()
		if i > 0 && (s < sec || s == sec && ns < nsec) {
			return true, false
		}
		sec, nsec = s, ns
	}
	return true, true
}

// wallInterval is b.Sub(a) when a or b carries no monotonic reading (a
// sample of a wallClock series): the difference of their seconds and
// nanoseconds, Sub's saturation left to Sub.
func wallInterval(a, b time.Time) time.Duration {
	ds := b.Unix() - a.Unix()
	if ds > maxIntervalSec || ds < -maxIntervalSec {
		return b.Sub(a)
	}
	return time.Duration(ds)*time.Second + time.Duration(b.Nanosecond()-a.Nanosecond())
}

// sampleInterval is b.Sub(a) for a sample b of a series: wallInterval
// when the series is wallClock, else Sub.
func sampleInterval(a, b time.Time, wall bool) time.Duration {
	if wall {
		return wallInterval(a, b)
	}
	return b.Sub(a)
}

// stamp is a sample time as unix seconds and nanoseconds, taken once so a
// loop over samples computes each interval from two numbers.
type stamp struct {
	sec  int64
	nsec int64
}

func stampOf(t time.Time) stamp { return stamp{t.Unix(), int64(t.Nanosecond())} }

// since is wallInterval from a to b; ok is false where that needs Sub
// (intervals beyond a century, which Sub saturates).
func (b stamp) since(a stamp) (d time.Duration, ok bool) {
	ds := b.sec - a.sec
	if ds > maxIntervalSec || ds < -maxIntervalSec {
		return 0, false
	}
	return time.Duration(ds)*time.Second + time.Duration(b.nsec-a.nsec), true
}
