package logtemplate

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rca-tool/rca/demo/demotest"
)

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
			res[i] = regexp.MustCompile(tp.Regexp())
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
	for _, l := range demotest.PiDigits(t).Logs {
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
