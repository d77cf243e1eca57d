package termui

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// OneLine makes text rca did not write (a server's error, a log line, a
// user's note) safe to print on one line of a terminal: control
// characters (newlines, ESC and the sequences it starts, BEL), bidi
// controls (which make text read differently than it is, e.g. RLO
// U+202E), line separators and invalid UTF-8 become spaces, and runs of
// spaces one. Every report format and every message on stderr that
// carries such text goes through it.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if Unsafe(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Unsafe reports whether r must not reach a terminal as it is: a control
// character, a bidi control, a line or paragraph separator, or invalid
// UTF-8.
func Unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}
