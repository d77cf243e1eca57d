package analysis

import (
	"runtime"
	"sync"
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
