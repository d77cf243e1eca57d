package report

import (
	"regexp"
	"strings"
	"testing"
)

func TestEscapeMarkdown(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"checkout", "checkout"},
		{"v1.4.2", "v1.4.2"},
		{"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{`"><img src=x onerror=alert(1)>`, `"&gt;&lt;img src=x onerror=alert(1)&gt;`},
		{"a | b", `a \| b`},
		{"*bold* _it_", `\*bold\* \_it\_`},
		{"[click](javascript:alert(1))", `\[click\](javascript:alert(1))`},
		{"![img](x)", `\!\[img\](x)`},
		{"`code`", "\\`code\\`"},
		{"# heading", `\# heading`},
		{"- item", `\- item`},
		{"+ item", `\+ item`},
		{"1. item", `1\. item`},
		{"12) item", `12\) item`},
		{"1.95 cores", "1.95 cores"},
		{"a-b 1.5", "a-b 1.5"},
		{`back\slash`, `back\\slash`},
		{"~~strike~~ $x$", `\~\~strike\~\~ \$x\$`},
		{"&lt;b&gt;", "&amp;lt;b&amp;gt;"},
		{"line one\nline two\r\n- three", `line one line two - three`},
		{"- one\n- two", `\- one - two`},
		{"0.1%", "0.1%"},
		{"1.", `1\.`},
		{"esc\x1b[31m red", `esc \[31m red`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := escapeMarkdown(tt.in); got != tt.want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`rate(x[5m])`, "`rate(x[5m])`"},
		{"a `b` c", "``a `b` c``"},
		{"`start", "`` `start ``"},
		{"a ``b`` <script>", "```a ``b`` <script>```"},
		{"two\nlines", "`two lines`"},
	}
	for _, tt := range tests {
		if got := codeSpan(tt.in); got != tt.want {
			t.Errorf("codeSpan(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// unescapedPipes counts the pipes in a table row that split cells.
func unescapedPipes(line string) int {
	n := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}

func TestMarkdownHostileData(t *testing.T) {
	out := render(t, "markdown", hostileResult(), Options{})
	// No raw HTML, link or image may come from data.
	for _, bad := range []string{"<script", "<img", "<b>", "\x1b", "\x07", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown passes %q through", bad)
		}
	}
	// A link or image needs an unescaped "](".
	if m := regexp.MustCompile(`(^|[^\\])\]\(`).FindString(out); m != "" {
		t.Errorf("markdown has a live link: %q", m)
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := unescapedPipes(line)
		if cols == 0 {
			cols = n
			continue
		}
		if n != cols {
			t.Errorf("table row has %d cell separators, header has %d: %s", n, cols, line)
		}
	}
	// Data never starts a line of its own (a heading, a list item) because
	// newlines in data are flattened.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "- item") || strings.HasPrefix(line, "# h") || strings.HasPrefix(line, "# heading") {
			t.Errorf("data broke out onto its own line: %q", line)
		}
	}
	for _, want := range []string{
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`"&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`a \| b \| c`,
		"``sum(x{a=\"`\"}) | <i>``", // a query keeps its text, inside a code span
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
