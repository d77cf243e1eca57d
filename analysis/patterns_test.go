package analysis

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rca-tool/rca/catalog"
	"github.com/rca-tool/rca/demo"
	"github.com/rca-tool/rca/telemetry"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMask(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"number", "retry 3 of 10", "retry <NUM> of <NUM>"},
		{"decimal and exponent", "score 0.75 eps 1e-05", "score <NUM> eps <NUM>"},
		{"number in punctuation", "(110: Connection timed out) 12.5% [7]", "(<NUM>: Connection timed out) <NUM>% [<NUM>]"},
		{"not a number inside a word", "http2 v1 5xx x86", "http2 v1 5xx x86"},
		{"durations", "took 1.5s, then 250ms, then 1h30m5.5s and 12µs", "took <DUR>, then <DUR>, then <DUR> and <DUR>"},
		{"sizes", "heap 512MiB of 2GB", "heap <SIZE> of <SIZE>"},
		{"ipv4 with port", "from 10.0.3.17:8080 to 192.168.1.1", "from <IP> to <IP>"},
		{"ip in a url", `upstream: "http://10.0.3.29:8080/api/orders/49029",`, `upstream: "http://<IP>/api/orders/<NUM>",`},
		{"not an ip", "version 1.2.3.4.5 and 300.1.1.1", "version <NUM> and <NUM>"},
		{"ipv6", "peer fe80::1 and 2001:db8::8a2e:370:7334 and ::1", "peer <IP> and <IP> and <IP>"},
		{"ipv6 with port", "listen [::1]:8080 [2001:db8::1]:443", "listen <IP> <IP>"},
		{"a clock is no ipv6", "at 13:55:02", "at <NUM>:<NUM>:<NUM>"},
		{"uuid", "trace 123e4567-e89b-12d3-a456-426614174000 done", "trace <UUID> done"},
		{"hex ids", "commit 9f3c1e2 addr 0x7f3a buf 0xDEADBEEF id 8a215319e00a334e6c6ce0f0ff9e899e", "commit <HEX> addr <HEX> buf <HEX> id <HEX>"},
		{"short hex and hex words stay", "cafe facade deadbeef abc12", "cafe facade deadbeef abc12"},
		{"all digits is a number", "id 1234567", "id <NUM>"},
		{"timestamps", "at 2024-05-14T14:04:12.123Z and 2024-05-14T14:04:12+02:00 on 2024-05-14", "at <TS> and <TS> on <TS>"},
		{"deployment pod", "pod checkout-5ff676694b-fzj9z OOMKilled", "pod checkout-<POD> OOMKilled"},
		{"daemonset pod", "pod node-exporter-x7k2p ready", "pod node-exporter-<POD> ready"},
		{"words are not pods", "redirect-https read-write", "redirect-https read-write"},
		{"replicaset", "scaled checkout-5ff676694b to 3", "scaled checkout-<HEX> to <NUM>"},
		{"logfmt values", "order created order_id=ord_7Q2K items=3 total=42.50", "order created order_id=<*> items=<*> total=<*>"},
		{"quoted logfmt value", `search query="red shoes" results=12`, "search query=<*> results=<*>"},
		{"message and level stay", `level=error msg="upstream timed out" err=EOF`, `level=error msg="upstream timed out" err=EOF`},
		{"whitespace", "  a\t\tb \r\n c  ", "a b c"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mask(tt.in); got != tt.want {
				t.Errorf("Mask(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// mine returns the templates of lines, in order of first appearance.
func mine(lines ...string) []string {
	m := NewMiner()
	for _, l := range lines {
		m.Add(l)
	}
	var out []string
	for _, tp := range m.Templates() {
		out = append(out, tp.Text)
	}
	return out
}

func TestMinerTemplates(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"numbers",
			[]string{"took 12 ms to connect to db 3", "took 1500 ms to connect to db 12"},
			[]string{"took <NUM> ms to connect to db <NUM>"}},
		{"durations",
			[]string{"request finished in 1.5s", "request finished in 250ms", "request finished in 1h2m3s"},
			[]string{"request finished in <DUR>"}},
		{"ips",
			[]string{"accepted connection from 10.0.0.1:5432", "accepted connection from 192.168.1.20", "accepted connection from [2001:db8::1]:443", "accepted connection from fe80::1"},
			[]string{"accepted connection from <IP>"}},
		{"ids",
			[]string{"span 123e4567-e89b-12d3-a456-426614174000 parent 0x7f3a", "span 00000000-0000-4000-8000-000000000000 parent 0x1"},
			[]string{"span <UUID> parent <HEX>"}},
		{"hex request ids",
			[]string{"request_id 8a215319e00a334e6c6ce0f0ff9e899e failed", "request_id b28ede7ec2ee7b5eea8c1d0f9e8d7c6b failed"},
			[]string{"request_id <HEX> failed"}},
		{"pod names",
			[]string{"pod checkout-5ff676694b-fzj9z ready", "pod checkout-7d9f8b6c5d-x2k4p ready"},
			[]string{"pod checkout-<POD> ready"}},
		{"same message, different values merge",
			[]string{"login failed for user alice from web", "login failed for user bob from web", "login failed for user carol from app"},
			[]string{"login failed for user <*> from <*>"}},
		{"different messages stay apart",
			[]string{"connection reset by peer", "connection pool is exhausted", "worker pool started 4 workers", "worker pool drained all queues"},
			[]string{"connection reset by peer", "connection pool is exhausted", "worker pool started <NUM> workers", "worker pool drained all queues"}},
		{"token counts never mix",
			[]string{"job done", "job done twice", "job done"},
			[]string{"job done", "job done twice"}},
		{"leading variable tokens share a route",
			[]string{"12 items in cart c_1", "7 items in cart c_2"},
			[]string{"<NUM> items in cart c_<NUM>"}},
		{"empty lines",
			[]string{"", "  ", "\t"},
			[]string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mine(tt.lines...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("templates\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// syntheticLines are n log lines of a dozen kinds with random values, the
// shape of a busy service's logs.
func syntheticLines(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	hex := func(k int) string {
		const d = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = d[r.IntN(16)]
		}
		return string(b)
	}
	ip := func() string { return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256)) }
	users := []string{"alice", "bob", "carol", "dave", "erin"}
	kinds := []func() string{
		func() string {
			return fmt.Sprintf(`%s - - [24/Nov/2026:13:55:%02d +0000] "GET /api/products/%d HTTP/1.1" 200 %d "-" "curl/8.5.0" rt=%.3f request_id=%s`,
				ip(), r.IntN(60), r.IntN(90000), r.IntN(5000), r.Float64(), hex(32))
		},
		func() string {
			return fmt.Sprintf("order created order_id=ord_%s items=%d total=%.2f duration_ms=%d", hex(8), 1+r.IntN(6), 5+r.Float64()*40, r.IntN(300))
		},
		func() string { return fmt.Sprintf("cache miss key=product:%d took=%dms", r.IntN(90000), r.IntN(40)) },
		func() string {
			return fmt.Sprintf("slow request GET /api/orders/%d took %.1fs", r.IntN(90000), 1+5*r.Float64())
		},
		func() string {
			return fmt.Sprintf(`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://%s:8080/api/checkout", request_id=%s`, ip(), hex(32))
		},
		func() string { return fmt.Sprintf("login failed for user %s from %s", users[r.IntN(len(users))], ip()) },
		func() string {
			return fmt.Sprintf("pod checkout-5ff676694b-%s restarted after %dm%ds", podSuffix(r), r.IntN(60), r.IntN(60))
		},
		func() string { return fmt.Sprintf("trace %s span 0x%s finished", uuidOf(r), hex(8)) },
		func() string { return fmt.Sprintf("gc pause %dus heap %dMiB", r.IntN(900), 100+r.IntN(800)) },
		func() string { return "LOG:  checkpoint starting: time" },
		func() string {
			return fmt.Sprintf(`ts=2026-11-24T13:55:%02dZ level=error msg="payment declined" provider=%s amount=%.2f`, r.IntN(60), []string{"adyen", "stripe"}[r.IntN(2)], r.Float64()*100)
		},
		func() string {
			return fmt.Sprintf("connection refused dialing payments-db:%d attempt %d", 5432, 1+r.IntN(5))
		},
	}
	out := make([]string, n)
	for i := range out {
		out[i] = kinds[r.IntN(len(kinds))]()
	}
	return out
}

// podSuffix is a pod name suffix as Kubernetes draws it.
func podSuffix(r *rand.Rand) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func uuidOf(r *rand.Rand) string {
	const d = "0123456789abcdef"
	b := []byte("xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx")
	for i, c := range b {
		if c == 'x' {
			b[i] = d[r.IntN(16)]
		}
	}
	return string(b)
}

// TestMinerSyntheticTemplates: a dozen kinds of lines with random values
// give a dozen templates, whatever the values.
func TestMinerSyntheticTemplates(t *testing.T) {
	got := mine(syntheticLines(5000, 1)...)
	slices.Sort(got)
	want := []string{
		"<IP> - - [<NUM>/Nov/<NUM>:<NUM>:<NUM>:<NUM> +<NUM>] \"GET /api/products/<NUM> HTTP/<NUM>\" <NUM> <NUM> \"-\" \"curl/<NUM>\" rt=<*> request_id=<*>",
		"LOG: checkpoint starting: time",
		"cache miss key=<*> took=<*>",
		"connection refused dialing payments-db:<NUM> attempt <NUM>",
		"gc pause <DUR> heap <SIZE>",
		"login failed for user <*> from <IP>",
		"order created order_id=<*> items=<*> total=<*> duration_ms=<*>",
		"pod checkout-<POD> restarted after <DUR>",
		"slow request GET /api/orders/<NUM> took <DUR>",
		"trace <UUID> span <HEX> finished",
		"ts=<*> level=error msg=\"payment declined\" provider=<*> amount=<*>",
		"upstream timed out (<NUM>: Connection timed out) while reading response header from upstream, upstream: \"http://<IP>/api/checkout\", request_id=<*>",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("templates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMinerDeterministic(t *testing.T) {
	lines := syntheticLines(3000, 2)
	a, b := NewMiner(), NewMiner()
	for _, l := range lines {
		a.Add(l)
		b.Add(l)
	}
	if !reflect.DeepEqual(a.Templates(), b.Templates()) {
		t.Error("the same lines gave different templates")
	}
	// The same bundle with its lines in another order gives the same
	// templates and ids: they are mined per service and level, by time.
	bundle := demoBundle(t)
	want := minePatterns(indexLogs(bundle, defaultCatalog()))
	shuffled := bundle
	shuffled.Logs = slices.Clone(bundle.Logs)
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(shuffled.Logs), func(i, j int) {
		shuffled.Logs[i], shuffled.Logs[j] = shuffled.Logs[j], shuffled.Logs[i]
	})
	got := minePatterns(indexLogs(shuffled, defaultCatalog()))
	if len(got) != len(want) {
		t.Fatalf("%d templates, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].tmpl.ID != want[i].tmpl.ID || got[i].tmpl.Text != want[i].tmpl.Text || got[i].win != want[i].win || got[i].base != want[i].base {
			t.Errorf("template %d: %s %q, want %s %q", i, got[i].tmpl.ID, got[i].tmpl.Text, want[i].tmpl.ID, want[i].tmpl.Text)
		}
	}
}

// checkMined asserts the miner's invariants on lines: every line is in
// exactly one template, the template matches it, and the template's LogQL
// filter expression does too.
func checkMined(t *testing.T, lines []string) {
	t.Helper()
	m := NewMiner()
	idx := make([]int, len(lines))
	for i, l := range lines {
		idx[i] = m.Add(l)
	}
	total := 0
	res := make([]*regexp.Regexp, m.Len())
	for i, tp := range m.Templates() {
		total += tp.Count
		if tp.Text != strings.Join(tp.Tokens, " ") {
			t.Errorf("template %d text %q is not its tokens %q", i, tp.Text, tp.Tokens)
		}
		if utf8.ValidString(tp.Text) {
			res[i] = regexp.MustCompile(templateRegexp(tp.Tokens))
		}
	}
	if total != len(lines) {
		t.Errorf("templates hold %d lines, %d were added", total, len(lines))
	}
	for i, l := range lines {
		if idx[i] < 0 || idx[i] >= m.Len() {
			t.Fatalf("line %q: template %d of %d", l, idx[i], m.Len())
		}
		tp := m.Template(idx[i])
		if !tp.Matches(l) {
			t.Errorf("template %q does not match its line %q (masked %q)", tp.Text, l, Mask(l))
		}
		if re := res[idx[i]]; re != nil && utf8.ValidString(l) && !re.MatchString(l) {
			t.Errorf("query regexp %s does not match the line %q", re, l)
		}
	}
}

func TestMinerInvariants(t *testing.T) {
	checkMined(t, syntheticLines(5000, 4))
	var lines []string
	for _, l := range demoBundle(t).Logs {
		lines = append(lines, l.Line)
	}
	checkMined(t, lines)
}

func FuzzMine(f *testing.F) {
	for _, s := range []string{
		"",
		"a b c\na b d\na x c",
		"took 1.5s\ntook 250ms\ntook 1h30m",
		"from 10.0.0.1:80\nfrom [::1]:8080\nfrom fe80::1",
		`search query="red shoes" n=1` + "\n" + `search query="espresso" n=2` + "\n" + `search query="unterminated n=3`,
		"pod checkout-5ff676694b-fzj9z ready\npod cart-7d9f8b6c5d-x2k4p ready",
		"<*> <NUM> <IP>\n<*> 1 2\n\x00\xff\xfe bad utf8",
		"k=\"a \\\" b\" x\nk='q r' y\n= =\n==",
		"\v\u00a0\u2028 odd spaces\u3000here",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		lines := strings.Split(data, "\n")
		if len(lines) > 300 {
			lines = lines[:300]
		}
		checkMined(t, lines)
	})
}

// BenchmarkMine mines 100,000 synthetic lines of a dozen kinds.
func BenchmarkMine(b *testing.B) {
	lines := syntheticLines(100_000, 5)
	b.ReportAllocs()
	for b.Loop() {
		m := NewMiner()
		for _, l := range lines {
			m.Add(l)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(lines)), "ns/line")
}

func demoBundle(t testing.TB) telemetry.Bundle {
	t.Helper()
	b, err := demo.Generate(demo.PiDigits())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDemoPatternsGolden pins the templates of the demo incident's logs and
// the ones that are new or surging in its window.
func TestDemoPatternsGolden(t *testing.T) {
	b := demoBundle(t)
	cat := defaultCatalog()
	ix := indexLogs(b, cat)
	mined := minePatterns(ix)
	sigs := prepare(b, cat)
	g := buildGraph(b.Edges, sigs)
	var out strings.Builder
	fmt.Fprintf(&out, "# %d lines, %d templates: service level id baseline window template\n", len(ix.lines), len(mined))
	for _, p := range mined {
		fmt.Fprintf(&out, "%s %s %s %d %d %s\n", p.service, orDash(p.level), p.tmpl.ID, p.base, p.win, p.tmpl.Text)
	}
	out.WriteString("\n# notable: service id new signal layer callee onset until baseline window\n")
	for _, n := range notablePatterns(ix, mined, b, cat, calleeCandidates(g, knownServices(sigs, ix, g))) {
		fmt.Fprintf(&out, "%s %s new=%v %s %s %s %s %s %d %d weak=%v\n", n.service, n.ID, n.New, orDash(n.SignalID), n.Layer, orDash(n.Callee),
			n.Onset.Format("15:04"), n.Until.Format("15:04"), n.BaselineCount, n.WindowCount, n.weak)
		for _, e := range n.Examples {
			fmt.Fprintf(&out, "  e.g. %s\n", e)
		}
		fmt.Fprintf(&out, "  query %s\n", n.Query)
	}
	golden(t, filepath.Join("testdata", "patterns", "pi-digits.golden"), out.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./analysis -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./analysis -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

// logs adds perMin lines a minute from minute from (inclusive) to to
// (exclusive), relative to the window start, spread evenly in the minute.
func (f *fixture) logs(labels telemetry.Labels, from, to, perMin int, line func(i int) string) *fixture {
	n := 0
	for m := from; m < to; m++ {
		for k := range perMin {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(k)*time.Minute/time.Duration(perMin))
			f.b.Logs = append(f.b.Logs, telemetry.LogLine{T: at, Labels: labels, Line: line(n)})
			n++
		}
	}
	return f
}

func lvl(service, level string) telemetry.Labels {
	return telemetry.Labels{"service": service, "level": level}
}

// notable runs the pattern analysis on a fixture's bundle.
func notable(f *fixture) []notablePattern {
	cat := defaultCatalog()
	ix := indexLogs(f.b, cat)
	sigs := prepare(f.b, cat)
	g := buildGraph(f.b.Edges, sigs)
	return notablePatterns(ix, minePatterns(ix), f.b, cat, calleeCandidates(g, knownServices(sigs, ix, g)))
}

func TestPatternSignals(t *testing.T) {
	// A background every case has, steady across baseline and window.
	background := func(f *fixture) *fixture {
		return f.logs(lvl("checkout", "info"), -60, 30, 6, func(i int) string { return fmt.Sprintf("order created order_id=ord_%d items=%d", i, i%5) })
	}
	declined := func(i int) string {
		return fmt.Sprintf("charge for order ord_%d declined by provider after %dms", 1000+i, 80+i%50)
	}
	tests := []struct {
		name  string
		build func(f *fixture)
		// want is "" for no finding, else "new", "surging" or "weak".
		want  string
		onset int
	}{
		{"new", func(f *fixture) { f.logs(lvl("checkout", "error"), 5, 30, 2, declined) }, "new", 5},
		{"surging", func(f *fixture) {
			f.logs(lvl("checkout", "error"), -60, 10, 1, declined).logs(lvl("checkout", "error"), 10, 30, 8, declined)
		}, "surging", 10},
		{"steady", func(f *fixture) { f.logs(lvl("checkout", "error"), -60, 30, 2, declined) }, "", 0},
		{"rare", func(f *fixture) {
			f.logs(lvl("checkout", "error"), 5, 6, 1, declined).logs(lvl("checkout", "error"), 12, 13, 1, declined).logs(lvl("checkout", "error"), 20, 22, 1, declined)
		}, "", 0},
		{"one-minute burst", func(f *fixture) { f.logs(lvl("checkout", "error"), 7, 8, 30, declined) }, "", 0},
		{"modest rise is not a surge", func(f *fixture) {
			f.logs(lvl("checkout", "error"), -60, 10, 4, declined).logs(lvl("checkout", "error"), 10, 30, 7, declined)
		}, "", 0},
		{"new info lines are not findings", func(f *fixture) {
			f.logs(lvl("checkout", "info"), 5, 30, 2, func(i int) string { return fmt.Sprintf("receipt cache warmed with %d entries", i) })
		}, "", 0},
		{"new warnings are weak", func(f *fixture) {
			f.logs(lvl("checkout", "warn"), 5, 30, 2, func(i int) string { return fmt.Sprintf("slow request POST /api/checkout took %d.%ds", 5+i%9, i%10) })
		}, "weak", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := background(newFixture(1))
			tt.build(f)
			got := notable(f)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("found %q (new=%v, %d -> %d lines), want nothing", got[0].Template, got[0].New, got[0].BaselineCount, got[0].WindowCount)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d notable templates, want 1", len(got))
			}
			n := got[0]
			kind := "surging"
			switch {
			case n.weak:
				kind = "weak"
			case n.New:
				kind = "new"
			}
			if kind != tt.want {
				t.Errorf("kind %s, want %s", kind, tt.want)
			}
			if want := t0.Add(time.Duration(tt.onset) * time.Minute); !n.Onset.Equal(want) {
				t.Errorf("onset %s, want %s", n.Onset.Format("15:04"), want.Format("15:04"))
			}
			if len(n.Examples) < 2 || len(n.Examples) > maxExamples {
				t.Errorf("%d examples, want 2 or 3", len(n.Examples))
			}
			if n.BaselineRate*60 != float64(n.BaselineCount) || n.WindowRate*30 < float64(n.WindowCount)-0.01 {
				t.Errorf("rates %v/min over 60m and %v/min over 30m for %d and %d lines", n.BaselineRate, n.WindowRate, n.BaselineCount, n.WindowCount)
			}
		})
	}
}

func TestPatternLayers(t *testing.T) {
	tests := []struct {
		name, service, level, line string
		signal                     string
		layer                      catalog.Layer
		callee                     string
	}{
		{"timeout naming the callee", "gateway", "error", "upstream checkout timed out after %ds", "log_timeouts", catalog.LayerPropagation, "checkout"},
		{"timeout naming a pod", "gateway", "error", "upstream timed out reading from checkout-5ff676694b-fzj9z after %ds", "log_timeouts", catalog.LayerPropagation, "checkout"},
		{"deadline at warning level", "checkout", "warn", "call to payments failed: context deadline exceeded after %dms", "log_timeouts", catalog.LayerPropagation, "payments"},
		{"connection refused", "payments", "error", "dial tcp payments-db:5432: connect: connection refused (attempt %d)", "log_connection_refused", catalog.LayerPropagation, "payments-db"},
		{"out of memory before panic", "checkout", "error", "fatal error: runtime: out of memory allocating %d bytes", "log_out_of_memory", catalog.LayerResource, ""},
		{"panic", "checkout", "error", "panic: runtime error: index out of range [%d] with length 3", "log_panics", catalog.LayerSymptom, ""},
		{"plain error", "checkout", "error", "failed to render receipt for order %d", "log_errors", catalog.LayerSymptom, ""},
		{"naming a service that is not a callee", "gateway", "error", "failed to reach payments after %d tries", "log_errors", catalog.LayerSymptom, ""},
		{"naming itself", "checkout", "error", "checkout worker %d crashed", "log_errors", catalog.LayerSymptom, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(1).edge("gateway", "checkout").edge("checkout", "payments").edge("payments", "payments-db")
			f.logs(lvl(tt.service, "info"), -60, 30, 2, func(i int) string { return fmt.Sprintf("heartbeat %d ok", i) })
			f.logs(lvl(tt.service, tt.level), 8, 30, 3, func(i int) string { return fmt.Sprintf(tt.line, 10+i) })
			got := notable(f)
			if len(got) != 1 {
				t.Fatalf("%d notable templates, want 1", len(got))
			}
			n := got[0]
			if n.SignalID != tt.signal || n.Layer != tt.layer || n.Callee != tt.callee {
				t.Errorf("%q: signal %s, layer %s, callee %q; want %s, %s, %q", n.Template, n.SignalID, n.Layer, n.Callee, tt.signal, tt.layer, tt.callee)
			}
		})
	}
}

func TestNamesService(t *testing.T) {
	tests := []struct {
		line, service string
		want          bool
	}{
		{"upstream=checkout method=POST", "checkout", true},
		{`upstream: "http://checkout:8080/api/checkout"`, "checkout", true},
		{"GET /api/checkout 504", "checkout", true},
		{"pod checkout-5ff676694b-fzj9z restarted", "checkout", true},
		{"checkouts are slow", "checkout", false},
		{"precheckout done", "checkout", false},
		{"dial payments-db:5432", "payments", false},
		{"dial payments-db:5432", "payments-db", true},
		{"cart_items=3", "cart", false},
		{"", "cart", false},
	}
	for _, tt := range tests {
		if got := namesService(tt.line, tt.service); got != tt.want {
			t.Errorf("namesService(%q, %q) = %v, want %v", tt.line, tt.service, got, tt.want)
		}
	}
}

func TestCleanLine(t *testing.T) {
	long := strings.Repeat("é", maxExampleRunes+10)
	tests := []struct{ in, want string }{
		{"plain line", "plain line"},
		{"two\nlines\r\n", "two lines"},
		{"esc\x1b[31m red\x07", "esc [31m red"},
		{"bidi \u202eevil\u202c", "bidi  evil"},
		{"bad \xff utf8", "bad   utf8"},
		{long, strings.Repeat("é", maxExampleRunes) + "…"},
	}
	for _, tt := range tests {
		if got := cleanLine(tt.in); got != tt.want {
			t.Errorf("cleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// gatewayTimeouts adds the gateway's "upstream timed out" lines from minute
// 12 to a piChain fixture, over access-log noise.
func withGatewayLogs(f *fixture) *fixture {
	return f.
		logs(lvl("gateway", "info"), -60, 30, 10, func(i int) string {
			return fmt.Sprintf(`10.0.0.%d - - "GET /api/products/%d HTTP/1.1" 200 %d rt=0.0%d`, i%250, 1000+i, 200+i%4000, i%10)
		}).
		logs(lvl("gateway", "error"), 12, 30, 6, func(i int) string {
			return fmt.Sprintf(`upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://checkout:8080/api/checkout", request_id=%032x`, 7919*i+1)
		})
}

// TestAnalyzePatternEvidence: the gateway's timeout template is the
// evidence of its timeout-rate finding (not a second finding on the same
// lines), gives it its callee, and shows in the chain's propagation link.
func TestAnalyzePatternEvidence(t *testing.T) {
	res := Analyze(withGatewayLogs(piChain(1)).b, defaultCatalog(), Options{})
	var rate *Finding
	for i, f := range res.Anomalies {
		if f.SignalID == patternSignalID && f.Service == "gateway" {
			t.Errorf("a pattern finding counts the lines of the timeout rate again: %s", f.Explanation)
		}
		if f.SignalID == "log_timeouts" && f.Service == "gateway" {
			rate = &res.Anomalies[i]
		}
	}
	if rate == nil {
		t.Fatal("no gateway timeout-rate finding")
	}
	if rate.Callee != "checkout" || rate.Signal != "timeout log lines to checkout" {
		t.Errorf("rate finding %q calls %q, want checkout", rate.Signal, rate.Callee)
	}
	if len(rate.Patterns) != 1 || !strings.HasPrefix(rate.Patterns[0].Template, "upstream timed out") || !rate.Patterns[0].New {
		t.Fatalf("rate finding patterns = %+v", rate.Patterns)
	}
	p := rate.Patterns[0]
	if p.WindowCount != 18*6 || p.BaselineCount != 0 || len(p.Examples) != maxExamples || !strings.Contains(p.Query, "|~") {
		t.Errorf("pattern evidence = %+v", p)
	}
	if want := "symptom@gateway <- propagation@gateway <- resource@checkout <- change@checkout"; layers(res.Chain) != want {
		t.Fatalf("chain = %s, want %s", layers(res.Chain), want)
	}
	link := res.Chain[1]
	if len(link.Patterns) == 0 || link.Patterns[0].ID != p.ID {
		t.Errorf("the propagation link (%s) does not show the timeout template: %+v", link.Signal, link.Patterns)
	}
	seen := map[string]int{}
	for _, l := range res.Chain {
		for _, lp := range l.Patterns {
			seen[lp.ID]++
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("template %s shows on %d links", id, n)
		}
	}
	if res.Stats.LogPatterns != 2 {
		t.Errorf("stats: %d templates, want 2", res.Stats.LogPatterns)
	}
}

// TestAnalyzeCorroboration: when the chain's link is a metric, the
// template of the same service, layer and time is put beside it.
func TestAnalyzeCorroboration(t *testing.T) {
	chain := []Finding{
		{Service: "gateway", Layer: catalog.LayerSymptom, Onset: t0.Add(13 * time.Minute)},
		{Service: "gateway", Layer: catalog.LayerPropagation, Callee: "checkout", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
		{Service: "checkout", Layer: catalog.LayerResource, Onset: t0.Add(11 * time.Minute)},
		{Service: "checkout", Layer: catalog.LayerChange, Change: &telemetry.Change{}},
	}
	pats := map[string][]LogPattern{
		"gateway": {
			{ID: "to-cart", Layer: catalog.LayerPropagation, Callee: "cart", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
			{ID: "earlier", Layer: catalog.LayerPropagation, Onset: t0.Add(-50 * time.Minute), Until: t0.Add(-40 * time.Minute)},
			{ID: "timeouts", Layer: catalog.LayerPropagation, Callee: "checkout", Onset: t0.Add(12 * time.Minute), Until: t0.Add(29 * time.Minute)},
			{ID: "errors", Layer: catalog.LayerSymptom, Onset: t0.Add(13 * time.Minute), Until: t0.Add(29 * time.Minute)},
		},
		"checkout": {{ID: "oom", Layer: catalog.LayerResource, Onset: t0.Add(11 * time.Minute), Until: t0.Add(20 * time.Minute)}},
	}
	got := corroborate(chain, pats, time.Minute)
	var ids []string
	for _, f := range got {
		var l []string
		for _, p := range f.Patterns {
			l = append(l, p.ID)
		}
		ids = append(ids, strings.Join(l, "+"))
	}
	if want := []string{"errors", "timeouts", "oom", ""}; !reflect.DeepEqual(ids, want) {
		t.Errorf("patterns per link = %q, want %q", ids, want)
	}
}

// TestAnalyzeHiddenNewPattern: a new error template inside a steady, noisy
// error rate is a finding of its own, since the rate does not show it.
func TestAnalyzeHiddenNewPattern(t *testing.T) {
	f := piChain(1)
	r := rand.New(rand.NewPCG(9, 9))
	for m := -60; m < 30; m++ {
		n := 4 + r.IntN(9)
		f.logs(lvl("payments", "error"), m, m+1, n, func(i int) string { return fmt.Sprintf("provider %d returned HTTP 502 for capture", i%3) })
	}
	f.logs(lvl("payments", "error"), 9, 30, 1, func(i int) string {
		return fmt.Sprintf("idempotency key reused for order ord_%d with a different amount", 5000+i)
	})
	res := Analyze(f.b, defaultCatalog(), Options{})
	var found *Finding
	for i, a := range res.Anomalies {
		if a.Service == "payments" && a.SignalID == "log_errors" {
			t.Errorf("the error rate itself is anomalous (score %v); the test needs it steady", a.Score)
		}
		if a.Service == "payments" && a.SignalID == patternSignalID {
			found = &res.Anomalies[i]
		}
	}
	if found == nil {
		t.Fatal("no pattern finding for the new error template")
	}
	if found.Layer != catalog.LayerSymptom || found.Source != "logs" || found.Signal != "new log pattern" ||
		len(found.Patterns) != 1 || !strings.HasPrefix(found.Patterns[0].Template, "idempotency key reused") {
		t.Errorf("finding = %+v", *found)
	}
	if !strings.Contains(found.Explanation, "none in the baseline") {
		t.Errorf("explanation %q", found.Explanation)
	}
	if res.Services[0].Service != "checkout" || res.RootCauses[0].Service != "checkout" {
		t.Errorf("top root cause %s; a new payments error must not outrank the checkout deploy", res.RootCauses[0].Service)
	}
}

func TestAnalyzeLogsDeterministic(t *testing.T) {
	b := withGatewayLogs(piChain(1)).b
	want := Analyze(b, defaultCatalog(), Options{})
	b.Logs = slices.Clone(b.Logs)
	slices.Reverse(b.Logs)
	if got := Analyze(b, defaultCatalog(), Options{}); !reflect.DeepEqual(got, want) {
		t.Error("the order of the log lines changed the result")
	}
}
