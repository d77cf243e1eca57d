package httpsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runKey marks a context as one collection: a *run.
type runKey struct{}

// run is one collection: when it started, and how its requests ended.
type run struct {
	start  time.Time
	mu     sync.Mutex
	ok     int            // 2xx answers
	failed map[string]int // by how: "500 Internal Server Error", "no answer"
}

func (r *run) record(how string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if how == "" {
		r.ok++
		return
	}
	if r.failed == nil {
		r.failed = map[string]int{}
	}
	r.failed[how]++
}

// RunFailures says how a collection's requests failed when none was
// answered with success: "21 x 500 Internal Server Error, 3 x 429 Too
// Many Requests"; "" when some succeeded or none was sent.
func RunFailures(ctx context.Context) string {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ok > 0 || len(r.failed) == 0 {
		return ""
	}
	hows := slices.Collect(maps.Keys(r.failed))
	slices.SortFunc(hows, func(a, b string) int { return cmp.Or(r.failed[b]-r.failed[a], strings.Compare(a, b)) })
	parts := make([]string, len(hows))
	for i, h := range hows {
		parts[i] = fmt.Sprintf("%d x %s", r.failed[h], h)
	}
	return strings.Join(parts, ", ")
}

// RunContext starts a collection: every request a source's client sends
// under the returned context must end by the start plus the source's
// timeout. The timeout then bounds the whole collection, however many
// queries a source asks and however slowly the server answers each, as a
// user reading "timeout: 30s" expects; requests cut off fail with an
// error that Unfinished reports.
func RunContext(ctx context.Context) context.Context {
	if _, ok := ctx.Value(runKey{}).(*run); ok {
		return ctx // an outer collection's clock runs on
	}
	return context.WithValue(ctx, runKey{}, &run{start: time.Now()})
}

// runTimeoutError is a request cut off by the collection's deadline.
type runTimeoutError struct {
	timeout time.Duration
	field   string // the setting, for messages: sources.prometheus.timeout
}

func (e *runTimeoutError) Error() string {
	if e.field == "" {
		return fmt.Sprintf("not finished within %s, the time the whole collection may take", e.timeout)
	}
	return fmt.Sprintf("not finished within %s, the time the whole collection may take (%s)", e.timeout, e.field)
}

func (e *runTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Unfinished reports whether err is a request the collection's deadline
// cut off (see RunContext), rather than one the server failed.
func Unfinished(err error) bool {
	var late *runTimeoutError
	return errors.As(err, &late)
}

// UnfinishedWarning is the one warning that lists what a collection's
// deadline cut off: "prometheus http://prom:9090: 17 of 21 queries not
// finished within 30s, ... : signal a, signal b".
func UnfinishedWarning(source, url string, n, total int, timeout time.Duration, field string, what []string) string {
	const maxListed = 10
	list := strings.Join(what[:min(len(what), maxListed)], ", ")
	if len(what) > maxListed {
		list += fmt.Sprintf(" and %d more", len(what)-maxListed)
	}
	return fmt.Sprintf("%s %s: %d of %d queries not finished within %s, the time %s gives the whole collection; the rest is analysed without them: %s",
		source, url, n, total, timeout, field, list)
}

// runTransport ends each request by the deadline of the collection it
// belongs to (RunContext), so slow answers cannot add up past the timeout.
type runTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *runTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r, ok := req.Context().Value(runKey{}).(*run)
	if !ok || t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	late := &runTimeoutError{timeout: t.timeout}
	deadline := r.start.Add(t.timeout)
	if !time.Now().Before(deadline) {
		r.record("not finished in time")
		return nil, late
	}
	parent := req.Context()
	ctx, cancel := context.WithDeadlineCause(parent, deadline, late)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		var limited *rateLimitedError
		switch {
		case cutOff(ctx, parent, deadline):
			r.record("not finished in time")
			return nil, late
		case parent.Err() != nil:
		case errors.As(err, &limited):
			code, _ := strconv.Atoi(strings.SplitN(limited.status, " ", 2)[0])
			r.record(fmt.Sprintf("%d %s", code, http.StatusText(code)))
		default:
			r.record("no answer")
		}
		return nil, err
	}
	body := &runBody{rc: resp.Body, ctx: ctx, parent: parent, cancel: cancel, late: late, deadline: deadline}
	if resp.StatusCode/100 == 2 {
		body.run = r // a success once read to its end
	} else {
		// The reason phrase is the server's: only the code is shown.
		r.record(fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	resp.Body = body
	return resp, nil
}

// runBody reads a body under the collection's deadline, and says so when
// that deadline cuts it off.
type runBody struct {
	rc          io.ReadCloser
	ctx, parent context.Context
	cancel      context.CancelFunc
	late        error
	deadline    time.Time
	run         *run // records how a 2xx body ended, once
}

func (b *runBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.ended("")
	case cutOff(b.ctx, b.parent, b.deadline):
		err = b.late
		b.ended("not finished in time")
	}
	return n, err
}

func (b *runBody) ended(how string) {
	if b.run != nil {
		b.run.record(how)
		b.run = nil
	}
}

func (b *runBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// cutOff reports whether the collection's deadline ended a request under
// ctx: it passed, and the caller did not cancel. The caller's own timeout
// may have ended it a moment later too (the two timers fire in either
// order); the collection's, never later, is the news.
func cutOff(ctx, parent context.Context, deadline time.Time) bool {
	return ctx.Err() != nil && !time.Now().Before(deadline) && !errors.Is(context.Cause(parent), context.Canceled)
}

// Parallel calls do(i) for each i below n, at most limit at a time, and
// waits for them all. Once ctx is done, the calls not yet started are not
// made, and Parallel returns ctx.Err(): what the calls made is then not
// the whole answer.
func Parallel(ctx context.Context, n, limit int, do func(i int)) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			do(i)
		}()
	}
	wg.Wait()
	return ctx.Err()
}
