package incident

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// maxSlug is the longest title slug an ID carries; IDs are typed on the
// command line and end up in folder names, so they stay short.
const maxSlug = 32

// idTimeLayout is the UTC minute an incident started, as it appears in IDs.
const idTimeLayout = "20060102-1504"

// NewID is the ID an incident started at t with this title gets (before
// collisions are resolved): INC-YYYYMMDD-HHMM-slug, in UTC, without the
// slug when the title has no usable letters or digits.
func NewID(t time.Time, title string) string {
	id := "INC-" + t.UTC().Format(idTimeLayout)
	if s := slug(title); s != "" {
		id += "-" + s
	}
	return id
}

// idTime is the start minute an ID names, for incidents whose log has no
// readable start entry.
func idTime(id string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(id, "INC-")
	if !ok || len(rest) < len(idTimeLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(idTimeLayout, rest[:len(idTimeLayout)])
	return t, err == nil
}

// slug is the title in lowercase ASCII letters and digits, with every other
// run of characters turned into one '-', cut at a word boundary.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		// Combining marks and apostrophes belong to the word they sit in:
		// "can't" is "cant", not "can-t".
		if unicode.Is(unicode.Mn, r) || r == '\'' || r == '’' {
			continue
		}
		s := foldRune(r)
		if s == "" {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(s)
	}
	s := b.String()
	if len(s) <= maxSlug {
		return s
	}
	// Cut at the last '-' that keeps at least half the room; a title that
	// is one long word is cut mid-word instead of shrinking to nothing.
	if i := strings.LastIndexByte(s[:maxSlug+1], '-'); i >= maxSlug/2 {
		return s[:i]
	}
	return strings.TrimRight(s[:maxSlug], "-")
}

// foldRune maps a lowercase rune to ASCII letters or digits, or "" for a
// separator. Latin letters with diacritics keep their base letter so that
// "Café" is "cafe"; other scripts have no ASCII form and separate words.
func foldRune(r rune) string {
	if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
		return string(r)
	}
	if r < 0x80 {
		return ""
	}
	folds := [...]struct{ from, to string }{
		{"àáâãäåāăą", "a"}, {"çćĉċč", "c"}, {"ďđð", "d"}, {"èéêëēĕėęě", "e"},
		{"ĝğġģ", "g"}, {"ĥħ", "h"}, {"ìíîïĩīĭįı", "i"}, {"ĵ", "j"}, {"ķ", "k"},
		{"ĺļľŀł", "l"}, {"ñńņňŉ", "n"}, {"òóôõöøōŏő", "o"}, {"ŕŗř", "r"},
		{"śŝşšș", "s"}, {"ţťŧț", "t"}, {"ùúûüũūŭůűų", "u"}, {"ŵ", "w"},
		{"ýÿŷ", "y"}, {"źżž", "z"}, {"ß", "ss"}, {"æ", "ae"}, {"œ", "oe"},
		{"þ", "th"},
	}
	for _, f := range folds {
		if strings.ContainsRune(f.from, r) {
			return f.to
		}
	}
	return ""
}

// NormalizeSeverity checks a severity and returns it in upper case: SEV1
// (the most severe) to SEV5. An empty severity stays empty: it is optional.
func NormalizeSeverity(s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if u == "" {
		return "", nil
	}
	if len(u) == 4 && strings.HasPrefix(u, "SEV") && u[3] >= '1' && u[3] <= '5' {
		return u, nil
	}
	return "", fmt.Errorf("invalid severity %q: use SEV1 (most severe) to SEV5", s)
}

// checkID rejects IDs that are empty or could name a path outside the
// store: an ID becomes a folder name directly under DIR.
func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("the incident id is empty")
	case id == "current":
		return fmt.Errorf(`"current" is not an incident id (name the incident's ID)`)
	case strings.HasPrefix(id, "."), strings.Contains(id, ".."):
		return fmt.Errorf("invalid incident id %q: it must not start with '.' or contain '..'", id)
	case len(id) > 200:
		return fmt.Errorf("invalid incident id %.20q...: longer than 200 bytes", id)
	}
	for _, r := range id {
		if r == '/' || r == '\\' || r == ':' || unicode.IsControl(r) {
			return fmt.Errorf("invalid incident id %q: it must not contain path separators, ':' or control characters", id)
		}
	}
	return nil
}
