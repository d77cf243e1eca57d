package termui

import "testing"

// Issue 17, defect 10: the one function every terminal path uses.
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":                               "plain text",
		"a\n\nb\tc  \n":                            "a b c",
		"\x1b]0;title\x07rest":                     "]0;title rest",
		"\x1b[2Jcleared \x1b[31mred\x1b[0m":        "[2Jcleared [31mred [0m",
		"abc\u202edef\u202c":                       "abc def",
		"line\u2028sep\u2029para\x85nel":           "line sep para nel",
		"bad \xff utf8":                            "bad utf8",
		"\u00e9t\u00e9 \u65e5\u672c \U0001F600 ok": "\u00e9t\u00e9 \u65e5\u672c \U0001F600 ok",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
