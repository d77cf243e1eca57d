package e2e

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rca-tool/rca/analysis"
	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/collectors/snapshot"
	rcareport "github.com/rca-tool/rca/report"
	"github.com/rca-tool/rca/telemetry"
)

// needChromium finds a Chromium: $CHROMIUM, /usr/bin/chromium, or one on
// PATH. Like need, it skips outside CI and fails under CI=true.
func needChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found: CI must install it (apt-get install chromium) or set CHROMIUM")
	}
	t.Skip("chromium not found (apt-get install chromium, or set CHROMIUM); skipping outside CI")
	return ""
}

// Payloads a client could get logged. Each would set window.__pwned if the
// page ran it. The first line keeps the template's shape (the payloads sit
// where its variable tokens are); the second has spaces and closes the tags
// a log line sits in.
var hostileLines = []string{
	`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: <img/src="x"/onerror="window.__pwned=1"> request_id=<script>window.__pwned=2</script>`,
	`upstream timed out (110: Connection timed out) while reading <img src=x onerror="window.__pwned=3"> upstream, upstream: "javascript:window.__pwned=4" request_id=</style></code></li><script>window.__pwned=5</script>`,
}

// hostileDemo is the pi-digits incident with the hostile lines logged by
// the gateway as the first and the last of its upstream timeouts, so that
// they become example lines of the template on the chain.
func hostileDemo(t *testing.T) analysis.Result {
	t.Helper()
	b, err := snapshot.Read(context.Background(), filepath.Join(repoRoot(), "testdata", "incidents", "pi-digits"))
	if err != nil {
		t.Fatal(err)
	}
	var timeouts []telemetry.LogLine
	for _, l := range b.Logs {
		if l.Labels["service"] == "gateway" && b.Window.Contains(l.T) && strings.HasPrefix(l.Line, "upstream timed out") {
			timeouts = append(timeouts, l)
		}
	}
	if len(timeouts) == 0 {
		t.Fatal("the demo has no gateway upstream timeouts in its window")
	}
	first, last := timeouts[0], timeouts[len(timeouts)-1]
	for _, l := range timeouts {
		if l.T.Before(first.T) {
			first = l
		}
		if l.T.After(last.T) {
			last = l
		}
	}
	a, z := first, last
	a.T, a.Line = first.T.Add(-time.Millisecond), hostileLines[0]
	z.T, z.Line = last.T.Add(time.Millisecond), hostileLines[1]
	b.Logs = append(b.Logs, a, z)

	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	res := analysis.Analyze(b, cat, analysis.Options{})
	found := map[string]bool{}
	for _, f := range res.Chain {
		for _, p := range f.Patterns {
			for _, e := range p.Examples {
				found[e] = true
			}
		}
	}
	for _, l := range hostileLines {
		if !found[l] {
			t.Fatalf("hostile line is not an example of a chain link's log pattern: %s", l)
		}
	}
	return res
}

// pageState is what the page says about itself after loading.
type pageState struct {
	Links       int       `json:"links"`
	Charts      []int     `json:"charts"`     // svg.chart per link
	ChartAreas  []float64 `json:"chartAreas"` // bounding box of each link's chart
	Scripts     int       `json:"scripts"`
	Images      int       `json:"images"`
	OnAttrs     []string  `json:"onAttrs"`
	Pwned       string    `json:"pwned"`
	Text        string    `json:"text"`
	ScrollWidth float64   `json:"scrollWidth"`
	InnerWidth  float64   `json:"innerWidth"`
	Overflowing []string  `json:"overflowing"`
}

const pageStateJS = `(() => {
	const links = [...document.querySelectorAll('ol.chain > li.link')];
	const onAttrs = [];
	for (const el of document.querySelectorAll('*')) {
		for (const a of el.attributes) {
			if (a.name.toLowerCase().startsWith('on')) onAttrs.push(el.tagName + ' ' + a.name);
		}
	}
	// Elements wider than the viewport, to say what overflows.
	const overflowing = [];
	for (const el of document.body.querySelectorAll('*')) {
		const r = el.getBoundingClientRect();
		if (r.right > window.innerWidth + 1 && overflowing.length < 5) {
			const cls = typeof el.className === 'string' ? el.className : (el.className.baseVal || '');
			overflowing.push(el.tagName.toLowerCase() + (cls ? '.' + cls : ''));
		}
	}
	return {
		links: links.length,
		charts: links.map(l => l.querySelectorAll('svg.chart').length),
		chartAreas: links.map(l => {
			const c = l.querySelector('svg.chart');
			if (!c) return 0;
			const r = c.getBoundingClientRect();
			return r.width * r.height;
		}),
		scripts: document.querySelectorAll('script').length,
		images: document.querySelectorAll('img').length,
		onAttrs: onAttrs,
		pwned: typeof window.__pwned,
		text: document.body.innerText,
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: window.innerWidth,
		overflowing: overflowing,
	};
})()`

// TestBrowserHTMLReport opens the HTML report of the demo incident, with
// hostile log lines in it, in headless Chromium: it must load nothing, run
// nothing, log no error, show one chart per chain link, show the payloads
// as text, and fit a phone's width.
func TestBrowserHTMLReport(t *testing.T) {
	chromium := needChromium(t)
	res := hostileDemo(t)
	if len(res.Chain) < 3 {
		t.Fatalf("chain has %d links, want at least 3", len(res.Chain))
	}

	var buf bytes.Buffer
	if err := rcareport.RenderWith(&buf, "html", res, rcareport.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range hostileLines {
		if !strings.Contains(buf.String(), html.EscapeString(l)) {
			t.Fatalf("the rendered HTML lacks the escaped hostile line %q", l)
		}
	}
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "pi-digits-hostile.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %s (%d bytes)", page, buf.Len())

	// One deadline for the whole browser: it stops Chromium when it ends.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()

	// chromedp enables the Runtime and Log domains on the tab; the listener
	// is there from the tab's start, so nothing the page logs is missed.
	var mu sync.Mutex
	var problems []string
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Text
			if e := ev.ExceptionDetails.Exception; e != nil {
				p += " " + e.Description
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				p = fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	}))
	defer cancelBrowser()

	u := (&url.URL{Scheme: "file", Path: page}).String()
	views := []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"desktop", 1280, 900, false},
		{"phone", 390, 844, true},
	}
	for _, v := range views {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if v.mobile {
			opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
		}
		if err := chromedp.Do(bctx,
			chromedp.EmulateViewport(v.width, v.height, opts...),
			chromedp.Navigate(u),
			chromedp.WaitReady("body"),
		); err != nil {
			t.Fatalf("%s: load %s: %v", v.name, u, err)
		}
		st, err := chromedp.Run(bctx, chromedp.Evaluate[pageState](pageStateJS))
		if err != nil {
			t.Fatalf("%s: evaluate: %v", v.name, err)
		}
		checkPage(t, v.name, st, len(res.Chain))
		if v.mobile && st.ScrollWidth > st.InnerWidth+1 {
			t.Errorf("phone: the page is %.0f px wide in a %.0f px viewport (overflowing: %v)", st.ScrollWidth, st.InnerWidth, st.Overflowing)
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", v.name, err)
		}
		shot := filepath.Join(dir, "pi-digits-"+v.name+".png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s screenshot: %s", v.name, shot)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported: %s", p)
	}
}

// checkPage asserts what must hold in every viewport.
func checkPage(t *testing.T, view string, st pageState, links int) {
	t.Helper()
	if st.Links != links {
		t.Errorf("%s: %d chain link elements, want %d", view, st.Links, links)
	}
	for i, n := range st.Charts {
		if n != 1 {
			t.Errorf("%s: link %d has %d svg.chart, want 1", view, i+1, n)
		}
	}
	for i, a := range st.ChartAreas {
		if a <= 0 {
			t.Errorf("%s: link %d's chart has an empty bounding box", view, i+1)
		}
	}
	if st.Scripts != 0 || st.Images != 0 || len(st.OnAttrs) != 0 {
		t.Errorf("%s: %d scripts, %d images, event attributes %v: data became markup", view, st.Scripts, st.Images, st.OnAttrs)
	}
	if st.Pwned != "undefined" {
		t.Errorf("%s: window.__pwned is %s: a payload ran", view, st.Pwned)
	}
	for _, l := range hostileLines {
		if !strings.Contains(st.Text, l) {
			t.Errorf("%s: the page's text lacks the hostile line %q", view, l)
		}
	}
}
