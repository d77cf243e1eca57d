package logtemplate

import (
	"hash/fnv"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// A Drain-style log template miner (He et al., "Drain: An Online Log Parsing
// Approach with Fixed Depth Tree", ICWS 2017), as Drain3 and Loki's pattern
// feature use it. A line is masked (variable tokens such as numbers and ids
// become placeholders), split at whitespace, and routed down a fixed-depth
// tree: first by its token count, then by its first minerDepth tokens. The
// leaf holds the templates seen on that path; the line joins the most
// similar one if at least minerSimilarity of its tokens are equal, and every
// position where they differ becomes the wildcard <*>. Otherwise it starts a
// template of its own.

// Wildcard is the token a template has where its lines differ.
const Wildcard = "<*>"

// The placeholders masking puts in place of variable values.
const (
	maskNum  = "<NUM>"  // 42, 3.14, 1e-05
	maskDur  = "<DUR>"  // 250ms, 1.5s, 1h30m
	maskSize = "<SIZE>" // 512MiB, 1.2GB
	maskIP   = "<IP>"   // 10.0.3.17, 10.0.3.17:8080, fe80::1, [::1]:8080
	maskUUID = "<UUID>" // 123e4567-e89b-12d3-a456-426614174000
	maskHex  = "<HEX>"  // 0x7f3a, 9f3c1e2b, request ids
	maskTS   = "<TS>"   // 2024-05-14, 2024-05-14T14:04:12.5Z
	maskPod  = "<POD>"  // the generated suffixes of checkout-5ff676694b-fzj9z
)

const (
	// minerDepth is how many leading tokens route a line in the tree
	// (Drain3's depth 4: the root, the token count, two tokens).
	minerDepth = 2
	// minerSimilarity is the share of equal tokens a line needs to join a
	// template. Masking has already made the variable values equal, the
	// route has matched the token count and first tokens, and lines of
	// different levels never meet (they are mined apart), so what differs
	// now is mostly the message itself: half, as in Drain's evaluation.
	minerSimilarity = 0.5
	// minerMaxChildren bounds a tree node's children; further distinct
	// tokens share the wildcard child, as in Drain.
	minerMaxChildren = 100
)

// Template is one mined log template.
type Template struct {
	// ID is stable: a hash of the template text, so the same lines give
	// the same ids in every run.
	ID string
	// Text is the tokens joined by single spaces.
	Text   string
	Tokens []string
	// Count is how many lines joined it.
	Count int
}

// Matches reports whether line, masked and split as the miner does, fits
// the template: the same number of tokens, each equal or under a wildcard.
func (t Template) Matches(line string) bool {
	toks := MaskTokens(line)
	if len(toks) != len(t.Tokens) {
		return false
	}
	for i, tok := range t.Tokens {
		if tok != Wildcard && tok != toks[i] {
			return false
		}
	}
	return true
}

// placeholders are what masking and mining put in a template.
var placeholders = []string{Wildcard, maskNum, maskDur, maskSize, maskIP, maskUUID, maskHex, maskTS, maskPod}

// Regexp is a regular expression (RE2, as Loki uses) that matches every
// line of the template: literal text quoted, tokens separated by
// whitespace, a masked value one or more non-space characters, and a
// wildcard anything (it may stand for a quoted value with spaces).
func (t Template) Regexp() string {
	parts := make([]string, len(t.Tokens))
	for i, tok := range t.Tokens {
		var b strings.Builder
		for tok != "" {
			k := strings.IndexByte(tok, '<')
			if k < 0 {
				b.WriteString(regexp.QuoteMeta(tok))
				break
			}
			b.WriteString(regexp.QuoteMeta(tok[:k]))
			tok = tok[k:]
			ph := ""
			for _, m := range placeholders {
				if strings.HasPrefix(tok, m) {
					ph = m
					break
				}
			}
			if ph == "" {
				b.WriteString(regexp.QuoteMeta("<"))
				tok = tok[1:]
				continue
			}
			if ph == Wildcard {
				b.WriteString(`.+?`)
			} else {
				b.WriteString(`\S+`)
			}
			tok = tok[len(ph):]
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, `\s+`)
}

// Miner clusters the lines of one stream into templates. Lines are added
// in order and the result depends on that order, so callers feed them
// sorted (by time, then text). The zero value is not usable; use NewMiner.
type Miner struct {
	root     map[int]*minerNode // by token count
	clusters []*minerCluster

	// Scratch space reused across Add calls: the masked line and the
	// bounds of its tokens.
	buf  []byte
	ends []int
}

type minerNode struct {
	children map[string]*minerNode
	leaf     []int // cluster indices, oldest first
}

type minerCluster struct {
	tokens []string
	count  int
}

// NewMiner returns an empty miner.
func NewMiner() *Miner { return &Miner{root: map[int]*minerNode{}} }

// Len is the number of templates so far.
func (m *Miner) Len() int { return len(m.clusters) }

// Add masks and clusters one line and returns the index of its template.
// Indices are stable for the miner's life; a template's text only becomes
// more general (more wildcards) as lines join it, so it keeps matching
// every line it has taken.
func (m *Miner) Add(line string) int {
	m.buf, m.ends = appendMasked(m.buf[:0], m.ends[:0], line)
	n := len(m.ends)
	node := m.root[n]
	if node == nil {
		node = &minerNode{}
		m.root[n] = node
	}
	for d := 0; d < minerDepth && d < n; d++ {
		// A token with digits is a value, not a word: it takes the
		// wildcard branch, as does any new word once a node is full.
		tok := m.token(d)
		var next *minerNode
		exact := !hasDigit(tok)
		if exact {
			next = node.children[string(tok)]
		}
		if next == nil {
			key := Wildcard
			if exact && len(node.children) < minerMaxChildren {
				key = string(tok)
			}
			if next = node.children[key]; next == nil {
				if node.children == nil {
					node.children = map[string]*minerNode{}
				}
				next = &minerNode{}
				node.children[key] = next
			}
		}
		node = next
	}

	best, bestSim, bestParams := -1, -1.0, -1
	for _, ci := range node.leaf {
		same, params := 0, 0
		for k, t := range m.clusters[ci].tokens {
			switch {
			case t == Wildcard:
				params++
			case t == string(m.token(k)):
				same++
			}
		}
		sim := 1.0 // two empty lines are the same line
		if n > 0 {
			sim = float64(same) / float64(n)
		}
		if sim > bestSim || (sim == bestSim && params > bestParams) {
			best, bestSim, bestParams = ci, sim, params
		}
	}
	if best >= 0 && bestSim >= minerSimilarity {
		c := m.clusters[best]
		for k, t := range c.tokens {
			if t != Wildcard && t != string(m.token(k)) {
				c.tokens[k] = Wildcard
			}
		}
		c.count++
		return best
	}
	c := &minerCluster{tokens: make([]string, n), count: 1}
	for k := range n {
		c.tokens[k] = string(m.token(k))
	}
	m.clusters = append(m.clusters, c)
	node.leaf = append(node.leaf, len(m.clusters)-1)
	return len(m.clusters) - 1
}

// token is the k-th token of the line being added.
func (m *Miner) token(k int) []byte {
	start := 0
	if k > 0 {
		start = m.ends[k-1] + 1 // tokens are separated by one space
	}
	return m.buf[start:m.ends[k]]
}

// Template returns template i as it stands now.
func (m *Miner) Template(i int) Template {
	c := m.clusters[i]
	text := strings.Join(c.tokens, " ")
	return Template{ID: ID(text), Text: text, Tokens: append([]string(nil), c.tokens...), Count: c.count}
}

// Templates returns every template, in the order they were first seen.
func (m *Miner) Templates() []Template {
	out := make([]Template, len(m.clusters))
	for i := range m.clusters {
		out[i] = m.Template(i)
	}
	return out
}

// ID is a short stable hash of a template's text and whatever else the
// caller folds in to tell templates apart (a service, a level).
func ID(parts ...string) string {
	h := fnv.New64a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	s := strconv.FormatUint(h.Sum64(), 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// MaskTokens splits a line at ASCII whitespace and masks the variable values in
// each token (see maskToken).
func MaskTokens(line string) []string {
	buf, ends := appendMasked(nil, nil, line)
	out := make([]string, len(ends))
	start := 0
	for i, e := range ends {
		out[i] = string(buf[start:e])
		start = e + 1
	}
	return out
}

// Mask is the masked line, its tokens joined by single spaces.
func Mask(line string) string { return strings.Join(MaskTokens(line), " ") }

// appendMasked appends the masked tokens of line to buf, separated by single
// spaces, and the end offset of each token to ends. Tokens are separated by
// ASCII whitespace, the set that \s matches in RE2 (Loki's regular
// expressions), so a template's LogQL filter sees the same tokens.
func appendMasked(buf []byte, ends []int, line string) ([]byte, []int) {
	i := 0
	for i < len(line) {
		if asciiSpace(line[i]) {
			i++
			continue
		}
		start := i
		for i < len(line) && !asciiSpace(line[i]) {
			// A quoted logfmt value (query="red shoes") is one token,
			// masked whole, unless it is the message.
			if c := line[i]; (c == '"' || c == '\'') && i > start && line[i-1] == '=' {
				if k := keyLen(line[start:i]); k == i-start-1 && !keepValueKeys[strings.ToLower(line[start:start+k])] {
					if q := closingQuote(line, i); q > 0 {
						i = q + 1
						continue
					}
				}
			}
			i++
		}
		if len(ends) > 0 {
			buf = append(buf, ' ')
		}
		buf = appendMaskedToken(buf, line[start:i])
		ends = append(ends, len(buf))
	}
	return buf, ends
}

// closingQuote is the index of the quote that closes the one at line[open],
// skipping backslash escapes, or -1.
func closingQuote(line string, open int) int {
	q := line[open]
	for j := open + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

func asciiSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// keepValueKeys are keys whose value is the message or its level, not a
// variable: logfmt's msg="..." and level=error stay in the template.
var keepValueKeys = map[string]bool{
	"msg": true, "message": true, "level": true, "lvl": true, "severity": true, "err": true, "error": true,
}

// appendMaskedToken masks one whitespace-free token:
//
//   - key=value (logfmt): the value, quoted or not, becomes <*> unless the
//     key names the message or the level (keepValueKeys: msg="..." is split
//     into words like any other text);
//   - otherwise each value bounded by non-alphanumerics is masked: Kubernetes
//     pod suffixes, UUIDs, ISO timestamps, IPv4 (with a port) and IPv6
//     addresses, hex ids (0x..., or 6+ hex digits with a digit and a letter),
//     durations, sizes, and numbers.
func appendMaskedToken(buf []byte, tok string) []byte {
	if k := keyLen(tok); k > 0 && k+1 < len(tok) && !keepValueKeys[strings.ToLower(tok[:k])] {
		buf = append(buf, tok[:k+1]...)
		return append(buf, Wildcard...)
	}
	if !maybeVariable(tok) {
		return append(buf, tok...)
	}
	i := 0
	for i < len(tok) {
		c := tok[i]
		if !isAlnum(c) {
			if c == '[' {
				if l := matchBracketIPv6(tok[i:]); l > 0 {
					buf = append(buf, maskIP...)
					i += l
					continue
				}
			}
			if c == ':' && (i == 0 || !isAlnum(tok[i-1])) {
				if l := matchIPv6(tok[i:]); l > 0 {
					buf = append(buf, maskIP...)
					i += l
					continue
				}
			}
			buf = append(buf, c)
			i++
			continue
		}
		// i starts a run of alphanumerics: the previous byte, if any, is
		// not one, because runs are always consumed whole.
		rest := tok[i:]
		if name, l := matchPod(rest); l > 0 {
			buf = append(buf, name...)
			buf = append(buf, '-')
			buf = append(buf, maskPod...)
			i += l
			continue
		}
		mask, l := matchValue(rest)
		if l > 0 {
			buf = append(buf, mask...)
			i += l
			continue
		}
		j := i
		for j < len(tok) && isAlnum(tok[j]) {
			j++
		}
		buf = append(buf, tok[i:j]...)
		i = j
	}
	return buf
}

// matchValue finds the variable value at the start of s, longest kind first.
func matchValue(s string) (string, int) {
	if l := matchUUID(s); l > 0 {
		return maskUUID, l
	}
	if l := matchTimestamp(s); l > 0 {
		return maskTS, l
	}
	if l := matchIPv4(s); l > 0 {
		return maskIP, l
	}
	if l := matchIPv6(s); l > 0 {
		return maskIP, l
	}
	if l := matchHex(s); l > 0 {
		return maskHex, l
	}
	if l, unit := matchNumber(s); l > 0 {
		switch unit {
		case unitDuration:
			return maskDur, l
		case unitSize:
			return maskSize, l
		}
		return maskNum, l
	}
	return "", 0
}

// maybeVariable is a cheap test that a token may hold something to mask.
func maybeVariable(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; (c >= '0' && c <= '9') || c == '-' || c == ':' {
			return true
		}
	}
	return false
}

// keyLen is the length of the logfmt key before '=' at the start of tok, or 0.
func keyLen(tok string) int {
	if tok == "" || !(isLetter(tok[0]) || tok[0] == '_') {
		return 0
	}
	for i := 1; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '=':
			return i
		case isAlnum(c) || c == '_' || c == '.' || c == '-':
		default:
			return 0
		}
	}
	return 0
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }
func isHex(c byte) bool    { return isDigit(c) || ((c|0x20) >= 'a' && (c|0x20) <= 'f') }

func hasDigit(b []byte) bool {
	for _, c := range b {
		if isDigit(c) {
			return true
		}
	}
	return false
}

// bounded reports whether a value of length l at the start of s ends at a
// boundary: the end of s or a byte that is not alphanumeric.
func bounded(s string, l int) bool { return l == len(s) || !isAlnum(s[l]) }

func digits(s string, i int) int {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return j - i
}

func hexRun(s string, i int) int {
	j := i
	for j < len(s) && isHex(s[j]) {
		j++
	}
	return j - i
}

// matchUUID matches 8-4-4-4-12 hex digits.
func matchUUID(s string) int {
	i := 0
	for g, n := range []int{8, 4, 4, 4, 12} {
		if g > 0 {
			if i >= len(s) || s[i] != '-' {
				return 0
			}
			i++
		}
		if hexRun(s, i) < n {
			return 0
		}
		i += n
	}
	if !bounded(s, i) {
		return 0
	}
	return i
}

// matchTimestamp matches an ISO 8601 date with an optional time and zone:
// 2024-05-14, 2024-05-14T14:04:12.123Z, 2024-05-14T14:04:12+02:00.
func matchTimestamp(s string) int {
	fixed := func(i, n int) bool { return digits(s, i) == n }
	if !(fixed(0, 4) && len(s) > 4 && s[4] == '-' && fixed(5, 2) && len(s) > 7 && s[7] == '-' && fixed(8, 2)) {
		return 0
	}
	i := 10
	if i < len(s) && s[i] == 'T' && fixed(i+1, 2) && i+3 < len(s) && s[i+3] == ':' && fixed(i+4, 2) {
		i += 6
		if i < len(s) && s[i] == ':' && fixed(i+1, 2) {
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') && digits(s, i+1) > 0 {
				i += 1 + digits(s, i+1)
			}
		}
		switch {
		case i < len(s) && s[i] == 'Z':
			i++
		case i < len(s) && (s[i] == '+' || s[i] == '-') && fixed(i+1, 2):
			i += 3
			if i < len(s) && s[i] == ':' && fixed(i+1, 2) {
				i += 3
			} else if fixed(i, 2) {
				i += 2
			}
		}
	}
	if !bounded(s, i) {
		return 0
	}
	return i
}

// matchIPv4 matches a dotted quad with an optional :port.
func matchIPv4(s string) int {
	i := 0
	for part := range 4 {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0
			}
			i++
		}
		n := digits(s, i)
		if n == 0 || n > 3 {
			return 0
		}
		if v, _ := strconv.Atoi(s[i : i+n]); v > 255 {
			return 0
		}
		i += n
	}
	// 1.2.3.4.5 is not an address (a version, an OID).
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		return 0
	}
	if i < len(s) && s[i] == ':' {
		if n := digits(s, i+1); n > 0 && n <= 5 && bounded(s, i+1+n) {
			return i + 1 + n
		}
	}
	if !bounded(s, i) {
		return 0
	}
	return i
}

// matchIPv6 matches an IPv6 address: hex digits, colons (at least two) and
// dots, that netip parses.
func matchIPv6(s string) int {
	j, colons := 0, 0
	for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
		if s[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0
	}
	// Trailing punctuation ("fe80::1:" before a port, "::1." ending a
	// sentence) is not part of the address.
	for j > 0 && (s[j-1] == '.' || (s[j-1] == ':' && !strings.HasSuffix(s[:j], "::"))) {
		j--
	}
	if !bounded(s, j) {
		return 0
	}
	// Eight groups, or "::" for the missing ones; a clock (13:55:02) is
	// neither, and is not worth a parse.
	if colons = strings.Count(s[:j], ":"); colons < 7 && !strings.Contains(s[:j], "::") && !(colons == 6 && strings.Contains(s[:j], ".")) {
		return 0
	}
	if _, err := netip.ParseAddr(s[:j]); err != nil {
		return 0
	}
	return j
}

// matchBracketIPv6 matches [ipv6] with an optional :port.
func matchBracketIPv6(s string) int {
	l := matchIPv6(s[1:])
	if l == 0 || 1+l >= len(s) || s[1+l] != ']' {
		return 0
	}
	i := 2 + l
	if i < len(s) && s[i] == ':' {
		if n := digits(s, i+1); n > 0 && n <= 5 {
			i += 1 + n
		}
	}
	return i
}

// matchHex matches 0x-prefixed hex, or a run of at least six hex digits
// with both a digit (so "facade" stays a word) and a letter (so 123456 is
// a number, masked as such).
func matchHex(s string) int {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if n := hexRun(s, 2); n > 0 && bounded(s, 2+n) {
			return 2 + n
		}
		return 0
	}
	n := hexRun(s, 0)
	if n < 6 || !bounded(s, n) {
		return 0
	}
	letter, digit := false, false
	for i := range n {
		if isDigit(s[i]) {
			digit = true
		} else {
			letter = true
		}
	}
	if !letter || !digit {
		return 0
	}
	return n
}

type numberUnit int

const (
	unitNone numberUnit = iota
	unitDuration
	unitSize
)

var (
	durationUnits = []string{"mins", "min", "secs", "sec", "hrs", "hr", "ms", "µs", "us", "ns", "h", "m", "s", "d"}
	sizeUnits     = []string{"KiB", "MiB", "GiB", "TiB", "KB", "kB", "MB", "GB", "TB", "Ki", "Mi", "Gi", "B"}
)

// matchNumber matches a number (42, 3.14, 1e-05) that ends at a boundary,
// or one followed by duration units (250ms, 1h30m, 1.5s) or a size unit
// (512MiB).
func matchNumber(s string) (int, numberUnit) {
	num := func(i int) int {
		n := digits(s, i)
		if n == 0 {
			return 0
		}
		j := i + n
		for j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			j += 1 + digits(s, j+1)
		}
		if j+1 < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if d := digits(s, k); d > 0 && bounded(s, k+d) {
				j = k + d
			}
		}
		return j - i
	}
	n := num(0)
	if n == 0 {
		return 0, unitNone
	}
	// Durations chain: 1h30m5.5s.
	i := n
	for {
		u := prefixOf(s[i:], durationUnits)
		if u == 0 {
			break
		}
		i += u
		if bounded(s, i) {
			return i, unitDuration
		}
		m := num(i)
		if m == 0 {
			break
		}
		i += m
	}
	if u := prefixOf(s[n:], sizeUnits); u > 0 && bounded(s, n+u) {
		return n + u, unitSize
	}
	if bounded(s, n) {
		return n, unitNone
	}
	return 0, unitNone
}

func prefixOf(s string, units []string) int {
	for _, u := range units {
		if strings.HasPrefix(s, u) {
			return len(u)
		}
	}
	return 0
}

// Kubernetes draws generated name suffixes from an alphabet without vowels.
func podAlphabet(c byte) bool { return strings.IndexByte("bcdfghjklmnpqrstvwxz2456789", c) >= 0 }

// matchPod matches a pod name at the start of s and returns its owner's
// name: a Deployment's checkout-5ff676694b-fzj9z (ReplicaSet hash of 6 to
// 10, pod suffix of 5) or a DaemonSet's node-exporter-x7k2p (a suffix of 5
// with a digit, so words like "https" are left alone).
func matchPod(s string) (string, int) {
	end := 0
	for end < len(s) && ((s[end] >= 'a' && s[end] <= 'z') || isDigit(s[end]) || s[end] == '-') {
		end++
	}
	if !bounded(s, end) {
		return "", 0
	}
	name := s[:end]
	last := strings.LastIndexByte(name, '-')
	if last <= 0 || len(name)-last-1 != 5 || !allPod(name[last+1:]) {
		return "", 0
	}
	owner := name[:last]
	if prev := strings.LastIndexByte(owner, '-'); prev > 0 {
		if h := owner[prev+1:]; len(h) >= 6 && len(h) <= 10 && allPod(h) {
			return owner[:prev], end
		}
	}
	if strings.ContainsAny(name[last+1:], "2456789") {
		return owner, end
	}
	return "", 0
}

func allPod(s string) bool {
	for i := 0; i < len(s); i++ {
		if !podAlphabet(s[i]) {
			return false
		}
	}
	return s != ""
}
