package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var st0 = time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC)

// line is e as the log stores it, with its newline.
func jsonLine(t testing.TB, e Entry) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func noteAt(i int, text string) Entry {
	return Entry{Time: st0.Add(time.Duration(i) * time.Second), Kind: KindNote, Author: "alice", Text: text}
}

func entryTexts(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Text
	}
	return out
}

func TestParseLog(t *testing.T) {
	a, b, c := jsonLine(t, noteAt(0, "a")), jsonLine(t, noteAt(1, "b")), jsonLine(t, noteAt(2, "c"))
	big := jsonLine(t, noteAt(3, strings.Repeat("x", 200<<10)))
	half := c[:len(c)/2]
	tests := []struct {
		name     string
		data     string
		texts    []string
		problems []Problem
		end      int // -1: the whole data
	}{
		{"empty file", "", nil, nil, -1},
		{"complete log", a + b + c, []string{"a", "b", "c"}, nil, -1},
		{"torn last line", a + b + half, []string{"a", "b"}, []Problem{{Line: 3, Torn: true, Err: tornErr}}, len(a + b)},
		{"torn fragment isolated by a later append", a + half + "\n" + b, []string{"a", "b"},
			[]Problem{{Line: 2, Err: "not a complete JSON entry (a fragment of an interrupted write, or a damaged line); skipped"}}, -1},
		{"unterminated whole entry is accepted", a + strings.TrimSuffix(b, "\n"), []string{"a", "b"}, nil, -1},
		{"blank lines skipped", "\n" + a + "  \n\n" + b, []string{"a", "b"}, nil, -1},
		{"CRLF line endings", strings.ReplaceAll(a+b, "\n", "\r\n"), []string{"a", "b"}, nil, -1},
		{"line longer than 64 KiB", a + big + b, []string{"a", strings.Repeat("x", 200<<10), "b"}, nil, -1},
		{"unknown kind kept", a + `{"time":"2026-11-24T14:09:00Z","kind":"page","text":"paged bob","future_field":1}` + "\n",
			[]string{"a", "paged bob"}, nil, -1},
		{"no kind", a + `{"time":"2026-11-24T14:09:00Z","text":"x"}` + "\n", []string{"a"},
			[]Problem{{Line: 2, Err: "entry has no kind; skipped"}}, -1},
		{"no time", `{"kind":"note","text":"x"}` + "\n" + a, []string{"a"},
			[]Problem{{Line: 1, Err: "entry has no time; skipped"}}, -1},
		{"null", "null\n" + a, []string{"a"}, []Problem{{Line: 1, Err: "entry has no kind; skipped"}}, -1},
		{"array", "[1]\n" + a, []string{"a"}, []Problem{{Line: 1, Err: "not a JSON object; skipped"}}, -1},
		{"wrong type", `{"time":"2026-11-24T14:09:00Z","kind":"note","text":42}` + "\n" + a, []string{"a"},
			[]Problem{{Line: 1, Err: `field "text" has the wrong type; skipped`}}, -1},
		{"bad time", `{"time":"yesterday","kind":"note","text":"x"}` + "\n" + a, []string{"a"},
			[]Problem{{Line: 1, Err: "a field holds an invalid value (times must be RFC 3339); skipped"}}, -1},
		{"unterminated non-entry JSON is not torn", a + `{"kind":"note"}`, []string{"a"},
			[]Problem{{Line: 2, Err: "entry has no time; skipped"}}, len(a)},
		{"unterminated blank tail", a + "  ", []string{"a"}, nil, len(a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseLog(context.Background(), strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := entryTexts(p.Entries); strings.Join(got, "|") != strings.Join(tt.texts, "|") || len(got) != len(tt.texts) {
				t.Errorf("entries = %.40q, want %.40q", got, tt.texts)
			}
			if len(p.Problems) != len(tt.problems) {
				t.Fatalf("problems = %+v, want %+v", p.Problems, tt.problems)
			}
			for i := range p.Problems {
				if p.Problems[i] != tt.problems[i] {
					t.Errorf("problem %d = %+v, want %+v", i, p.Problems[i], tt.problems[i])
				}
			}
			want := tt.end
			if want < 0 {
				want = len(tt.data)
			}
			if p.End != int64(want) {
				t.Errorf("end = %d, want %d", p.End, want)
			}
		})
	}
}

// The problem messages must never quote the line: an entry may hold
// anything, secrets included.
func TestParseLogProblemsDoNotQuoteTheLine(t *testing.T) {
	const secret = "hunter2SECRET"
	lines := []string{
		`{"time":"` + secret + `","kind":"note","text":"x"}`,
		`{"time":"2026-11-24T14:09:00Z","kind":"note","text":"` + secret,
		`{"time":"2026-11-24T14:09:00Z","kind":"note","text":` + secret + `}`,
		`{"time":"2026-11-24T14:09:00Z","kind":["` + secret + `"],"text":"x"}`,
		`{"time":"2026-11-24T14:09:00Z","kind":"note","files":"` + secret + `"}`,
		`{"time":"2026-11-24T14:09:00Z","kind":"note","change":{"time":"` + secret + `"}}`,
		secret,
	}
	for _, l := range lines {
		for _, data := range []string{l + "\n", l} {
			p, err := parseLog(context.Background(), strings.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Problems) != 1 {
				t.Fatalf("%q: problems = %+v, want one", data, p.Problems)
			}
			if strings.Contains(p.Problems[0].Err, "hunter2") {
				t.Errorf("problem for %q quotes the line: %q", data, p.Problems[0].Err)
			}
		}
	}
}

func TestStatus(t *testing.T) {
	e := func(k Kind) Entry { return Entry{Time: st0, Kind: k} }
	withRC := Entry{Time: st0, Kind: KindAnalysis, Analysis: &AnalysisSummary{RootCause: "CPU saturation"}}
	noRC := Entry{Time: st0, Kind: KindAnalysis, Analysis: &AnalysisSummary{}}
	tests := []struct {
		name    string
		entries []Entry
		want    Status
	}{
		{"empty", nil, StatusInvestigating},
		{"started", []Entry{e(KindStart), e(KindNote)}, StatusInvestigating},
		{"analysis without root cause", []Entry{e(KindStart), noRC, e(KindAnalysis)}, StatusInvestigating},
		{"analysis with root cause", []Entry{e(KindStart), withRC}, StatusIdentified},
		{"mitigated", []Entry{e(KindStart), withRC, e(KindMitigate)}, StatusMonitoring},
		{"mitigated without analysis", []Entry{e(KindStart), e(KindMitigate), noRC}, StatusMonitoring},
		{"resolved", []Entry{e(KindStart), e(KindResolve), e(KindNote)}, StatusResolved},
		{"resolved beats mitigated", []Entry{e(KindMitigate), e(KindResolve), withRC}, StatusResolved},
		{"update status does not decide", []Entry{e(KindStart), {Time: st0, Kind: KindUpdate, Status: StatusResolved}}, StatusInvestigating},
	}
	for _, tt := range tests {
		l := &Log{Entries: tt.entries}
		if got := l.Status(); got != tt.want {
			t.Errorf("%s: Status() = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestLogStart(t *testing.T) {
	l := &Log{Entries: []Entry{noteAt(0, "early"), {Time: st0, Kind: KindStart, Title: "first"}, {Time: st0, Kind: KindStart, Title: "second"}}}
	if e, ok := l.Start(); !ok || e.Title != "first" {
		t.Errorf("Start() = %+v, %v; want the first start entry", e, ok)
	}
	if _, ok := (&Log{Entries: []Entry{noteAt(0, "x")}}).Start(); ok {
		t.Error("Start() found a start entry in a log without one")
	}
}

func FuzzReadLog(f *testing.F) {
	a, b := jsonLine(f, noteAt(0, "a")), jsonLine(f, noteAt(1, "b\nwith | pipes <script>"))
	an := jsonLine(f, Entry{Time: st0, Kind: KindAnalysis, Analysis: &AnalysisSummary{RootCause: "x", Chain: []string{"1", "2"}}, Files: []string{"evidence/r.md"}})
	f.Add([]byte(""))
	f.Add([]byte(a + b))
	f.Add([]byte(a + b[:20]))
	f.Add([]byte(a + b[:20] + "\n" + an))
	f.Add([]byte("\n\n\r\n" + an + "null\n[]\n{}\n"))
	f.Add([]byte(`{"time":"2026-11-24T14:09:00+23:59","kind":"x","text":"\u2028"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseLog(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(data, []byte("\n"))
		if len(data) > 0 && data[len(data)-1] != '\n' {
			lines++
		}
		if p.Lines != lines {
			t.Errorf("lines = %d, want %d", p.Lines, lines)
		}
		prev := 0
		for i, pr := range p.Problems {
			if pr.Line < 1 || pr.Line > lines || pr.Line <= prev {
				t.Errorf("problem %d at line %d: out of range 1..%d or not increasing", i, pr.Line, lines)
			}
			prev = pr.Line
			if pr.Torn && (pr.Line != lines || data[len(data)-1] == '\n') {
				t.Errorf("torn problem at line %d of %d, or the data ends with a newline", pr.Line, lines)
			}
			if pr.Err == "" {
				t.Errorf("problem %d has no message", i)
			}
		}
		for i, e := range p.Entries {
			out, err := json.Marshal(e)
			if err != nil {
				t.Fatalf("entry %d does not re-marshal: %v", i, err)
			}
			if bytes.ContainsRune(out, '\n') {
				t.Fatalf("entry %d re-marshals to more than one line", i)
			}
			if e.Kind == "" || e.Time.IsZero() {
				t.Errorf("entry %d has no kind or time", i)
			}
		}
		if p.End < 0 || p.End > int64(len(data)) {
			t.Fatalf("end %d outside 0..%d", p.End, len(data))
		}
		// The prefix up to End holds the same entries and nothing torn: it
		// is what a cursor has consumed.
		q, err := parseLog(context.Background(), bytes.NewReader(data[:p.End]))
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Entries) != len(p.Entries) {
			t.Errorf("prefix to end %d has %d entries, the whole %d", p.End, len(q.Entries), len(p.Entries))
		}
		for _, pr := range q.Problems {
			if pr.Torn {
				t.Errorf("prefix to end %d has a torn line", p.End)
			}
		}
		var md bytes.Buffer
		if err := RenderMarkdown(&md, &Log{ID: "INC-x", Entries: p.Entries, Problems: p.Problems}); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(md.Bytes(), []byte("<")) {
			t.Errorf("Markdown has a raw '<'")
		}
	})
}

func TestParseStatus(t *testing.T) {
	for in, want := range map[string]Status{"": "", " Identified ": StatusIdentified, "RESOLVED": StatusResolved, "monitoring": StatusMonitoring} {
		if got, err := ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseStatus(" fixed"); err == nil || err.Error() != `" fixed": use investigating, identified, monitoring or resolved` {
		t.Errorf("ParseStatus(fixed): %v", err)
	}
}
