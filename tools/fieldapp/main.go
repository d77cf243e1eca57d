// Command fieldapp is a small instrumented HTTP backend for the real-fault
// lab in e2e/ (field_test.go): the kind of service a Prometheus tutorial
// builds, in the classic client-library naming. It serves GET /api/items
// from redis (a GET, and a SET on a miss) and exposes on /metrics:
//
//   - http_requests_total{code,route}: requests served, by status code;
//   - http_request_duration_seconds{route}: a histogram of their latency;
//   - fieldapp_build_info{version}: 1, the running version;
//   - the default process_* and go_* collectors.
//
// A request whose redis command fails is answered 500. Fault modes:
// -burn-cpu D makes every request spend D of CPU time first (a bad
// deploy), stopping early when the caller gives up.
//
//	fieldapp -listen 127.0.0.1:8081 -redis 127.0.0.1:6379 -version v1.0.0
//	GOMAXPROCS=1 fieldapp -listen 127.0.0.1:8082 -redis 127.0.0.1:6379 -version v1.1.0 -burn-cpu 150ms
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "redis address")
	version := flag.String("version", "v1.0.0", "version reported by fieldapp_build_info")
	burn := flag.Duration("burn-cpu", 0, "CPU work per request (a fault mode); 0 for none")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("fieldapp ")

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "fieldapp_build_info", Help: "The running version of fieldapp; always 1.",
	}, []string{"version"})
	buildInfo.WithLabelValues(*version).Set(1)
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests served, by status code and route.",
	}, []string{"code", "route"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Latency of the HTTP requests served.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	reg.MustRegister(buildInfo, requests, duration)

	a := &app{redis: newRedis(*redisAddr)}
	if *burn > 0 {
		a.burn = *burn
		log.Printf("burning %s of CPU per request", *burn)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/api/items", instrument("/api/items", requests, duration, a.items))

	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if pong, err := a.redis.do(ctx, "PING"); err != nil {
		log.Printf("redis %s not answering yet: %v", *redisAddr, err)
	} else {
		log.Printf("redis %s: %v", *redisAddr, pong)
	}
	log.Printf("%s serving on %s", *version, *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

type app struct {
	redis *redisClient
	burn  time.Duration
}

// items reads a key from redis, setting it on a miss.
func (a *app) items(w http.ResponseWriter, r *http.Request) int {
	if a.burn > 0 && !burnCPU(r.Context(), a.burn) {
		// The caller gave up (the gateway timed out): nginx's 499.
		return 499
	}
	key := "item:" + strconv.Itoa(int(time.Now().UnixNano()%100))
	v, err := a.redis.do(r.Context(), "GET", key)
	if err == nil && v == nil {
		_, err = a.redis.do(r.Context(), "SET", key, "value-"+key)
	}
	if err != nil {
		http.Error(w, "redis: "+err.Error(), http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	fmt.Fprintln(w, "ok")
	return http.StatusOK
}

// instrument counts and times a handler that returns its status code.
func instrument(route string, requests *prometheus.CounterVec, duration *prometheus.HistogramVec, h func(http.ResponseWriter, *http.Request) int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := h(w, r)
		duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		requests.WithLabelValues(strconv.Itoa(code), route).Inc()
	})
}

// burnCPU hashes until its thread has spent d of CPU time on it, stopping
// early (false) when ctx is done. Counting the thread's own CPU time, not
// rounds calibrated at start-up, makes every request cost d whatever else
// the machine is doing: a calibration on a busy CI machine once made the
// canary burn a fraction of it, too little to overload its one core.
func burnCPU(ctx context.Context, d time.Duration) bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	sum := sha256.Sum256([]byte("fieldapp"))
	for threadCPU()-start < d {
		if ctx.Err() != nil {
			return false
		}
		for range 2000 {
			sum = sha256.Sum256(sum[:])
		}
	}
	return sum != [sha256.Size]byte{} // always true; uses the result
}

// threadCPU is the CPU time the calling thread has used so far.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		log.Fatalf("clock_gettime: %v", err)
	}
	return time.Duration(ts.Nano())
}
