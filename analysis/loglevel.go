package analysis

import (
	"cmp"
	"strconv"
	"strings"
	"unicode"
)

// lineLevel is the level a log line states in its text, lower case, or ""
// when it states none: the level field of a JSON or logfmt line, a syslog
// priority, else a level word among the first words of a plain line
// ("2018-09-14 11:13:27 2268 ERROR nova.compute", "[WARN] retrying",
// "ERROR:root:failed", klog's "E1207", .NET's "fail: Shop.Api[13]"). A
// stream without a level label still says which of its lines are errors.
// A word of the message itself ("error: <nil>", or any word past the
// first few) is not a level. The lines of an exception report, which
// carry no level of their own, are errors (see exceptionLine).
func lineLevel(line string) string {
	s := strings.TrimSpace(line)
	if exceptionLine(s) {
		return "error"
	}
	json := strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
	if v, ok := fieldValue(s, json); ok {
		if l := levelName(v); knownLevel(l) {
			return l
		}
	}
	if json {
		return ""
	}
	if l := syslogLevel(s); l != "" {
		return l
	}
	words := strings.Fields(s)
	if len(words) > 1 {
		if l := cmp.Or(klogLevel(words[0], words[1]), dotnetLevel(words[0], words[1])); l != "" {
			return l
		}
	}
	for i, w := range words {
		if i == maxLevelWord {
			break
		}
		bracketed := strings.HasPrefix(w, "[")
		w = strings.Trim(w, "[]|,;\"'")
		if j := strings.IndexByte(w, ':'); j > 0 {
			// Apache's [module:level] after its bracketed date, as lower
			// case as it prints it (trace1 to trace8 are traces).
			if l := apacheLevel(w[j+1:]); l != "" && bracketed && strings.HasSuffix(words[i], "]") && strings.HasPrefix(words[0], "[") {
				return l
			}
			w = w[:j] // ERROR:root:message, Error: message
		}
		// Monolog's channel.LEVEL: right after its bracketed date
		// ([2024-01-01 00:00:00] production.ERROR: message), upper case.
		if k := strings.LastIndexByte(w, '.'); k > 0 && levelWords[w[k+1:]] && channelName(w[:k]) &&
			i > 0 && strings.HasSuffix(words[i-1], "]") && strings.HasSuffix(words[i], ":") {
			return levelName(w[k+1:])
		}
		// ERROR, or Error and error as the layouts that print them so:
		// nginx's [error], a message's leading "Error:". A lower-case word
		// of the message ("error: <nil>", "Stack trace:") is no level.
		if levelWords[w] || levelWords[strings.ToUpper(w)] && (bracketed || w == titleCase(w) && i == 0) {
			return levelName(w)
		}
	}
	return ""
}

// exceptionLine reports whether a trimmed line is part of an exception
// report as runtimes print them, one line each when a collector does not
// join them: the exception ("java.lang.IllegalStateException: closed",
// "ValueError: bad id", "Caused by: ...", "Exception in thread ...",
// "Traceback (most recent call last):", .NET's "Unhandled exception." and
// "---> ...", Go's "panic: ..." and "fatal error: ...") and its stack
// (frames, "... 12 more", a goroutine's header). A service that starts
// throwing says so in these lines, and in no level. A logger's warning with
// a stack trace reads as an error too: rarer, and a new one in the window
// is worth the look.
func exceptionLine(s string) bool {
	for _, p := range exceptionPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(s, "at "); ok {
		return frame(rest)
	}
	if strings.HasPrefix(s, `File "`) && strings.Contains(s, `", line `) {
		return true // Python
	}
	if strings.HasPrefix(s, "... ") && strings.HasSuffix(s, " more") && digits(strings.TrimSpace(s[4:len(s)-5])) {
		return true // Java's elided frames
	}
	if goFrame(s) {
		return true
	}
	// An exception's type, qualified or not, alone or before its message.
	typ, _, _ := strings.Cut(strings.TrimPrefix(s, "---> "), ":")
	if !identifier(typ) {
		return false
	}
	dot := strings.LastIndexByte(typ, '.')
	class := strings.TrimLeft(typ[dot+1:], "_")
	if class == "" || class[0] < 'A' || class[0] > 'Z' {
		return false
	}
	if strings.HasSuffix(class, "Exception") || strings.HasSuffix(class, "Error") {
		return true
	}
	// A class of a package's errors module: psycopg2.errors.UniqueViolation,
	// requests.exceptions.Timeout.
	module := typ[:max(dot, 0)]
	return strings.HasSuffix(module, ".errors") || strings.HasSuffix(module, ".exceptions")
}

// exceptionPrefixes begin the lines of an exception report that say so in
// their first words.
var exceptionPrefixes = []string{
	"Traceback (most recent call last)", "Caused by: ", "Suppressed: ", "Exception in thread ",
	"Unhandled exception. ", "panic: ", "fatal error: ",
}

// frame reports whether what follows a line's "at " is a stack frame:
// Java's and .NET's qualified method and its place ("com.shop.Cart.add
// (Cart.java:42)", "Shop.Cart.Add(Int32 n) in /src/Cart.cs:line 42"), or
// Node's function and place ("Object.run (/app/index.js:3:5)", "async
// main (/app/index.js:3:5)", "new Promise (<anonymous>)") or place alone
// ("/app/index.js:3:5").
func frame(rest string) bool {
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, "async "), "new ")
	name, place, paren := strings.Cut(rest, "(")
	name = strings.TrimSpace(name)
	if !paren {
		return !strings.Contains(rest, " ") && location(rest)
	}
	if name != "" && !strings.Contains(name, " ") && strings.Contains(name, ".") && identStart(name[0]) {
		return true // a qualified method
	}
	place, _, _ = strings.Cut(place, ")") // a line cut short is still a frame
	return name != "" && (location(place) || place == "<anonymous>" || place == "native")
}

// location reports whether s is a source place with a line and a column,
// as Node prints them ("/app/index.js:3:5", "node:internal/timers:569:17").
func location(s string) bool {
	parts := strings.Split(s, ":")
	n := len(parts)
	return n >= 3 && strings.IndexFunc(strings.Join(parts[:n-2], ":"), unicode.IsLetter) >= 0 && digits(parts[n-2]) && digits(parts[n-1])
}

// goFrame reports whether s is a line of a Go goroutine dump: its header
// ("goroutine 7 [running]:") or a frame's file and line ("/app/main.go:12
// +0x1d").
func goFrame(s string) bool {
	if rest, ok := strings.CutPrefix(s, "goroutine "); ok {
		n, tail, _ := strings.Cut(rest, " ")
		return digits(n) && strings.HasPrefix(tail, "[")
	}
	file, tail, _ := strings.Cut(s, " ")
	path, line, ok := strings.Cut(file, ".go:")
	return ok && path != "" && digits(line) && (tail == "" || strings.HasPrefix(tail, "+0x"))
}

// identifier reports whether s is a dotted name of letters, digits, '_'
// and '$' (a Java or Python class, a .NET type).
func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '$' || '0' <= c && c <= '9' || identStart(c)) {
			return false
		}
	}
	return s != ""
}

func identStart(c byte) bool {
	return c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// klogLevel is the level of a klog or glog line ("E1207 12:00:00.000000
// 1 file.go:12] msg": its level letter, then the month and day, then the
// time), or "".
func klogLevel(first, second string) string {
	if len(first) != 5 || !digits(first[1:]) || len(second) < 8 || second[2] != ':' || second[5] != ':' {
		return ""
	}
	month, day := (first[1]-'0')*10+first[2]-'0', (first[3]-'0')*10+first[4]-'0'
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return ""
	}
	return map[byte]string{'I': "info", 'W': "warning", 'E': "error", 'F': "fatal"}[first[0]]
}

// syslogLevel is the severity of a line that begins with a syslog
// priority, as syslog (RFC 3164, "<13>Jan  1 ...") and RFC 5424 ("<11>1
// 2024-...") forward it: the priority is facility·8 + severity.
func syslogLevel(s string) string {
	end := strings.IndexByte(s, '>')
	if !strings.HasPrefix(s, "<") || end < 0 || end > 4 || !digits(s[1:end]) || len(s) == end+1 {
		return ""
	}
	pri, _ := strconv.Atoi(s[1:end])
	if pri > 191 || s[end+1] == ' ' {
		return ""
	}
	return [8]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}[pri%8]
}

// dotnetLevel is the level of .NET's console logger
// (Microsoft.Extensions.Logging): "fail: Shop.Api[13]", its level in four
// letters before the category and its event id.
func dotnetLevel(first, second string) string {
	l := map[string]string{"trce:": "trace", "dbug:": "debug", "info:": "info", "warn:": "warn", "fail:": "error", "crit:": "critical"}[first]
	if l == "" || !strings.HasSuffix(second, "]") || !strings.Contains(second, "[") {
		return ""
	}
	id := second[strings.LastIndexByte(second, '[')+1 : len(second)-1]
	if !digits(id) {
		return ""
	}
	return l
}

// titleCase is w with its first letter upper case and the rest lower.
func titleCase(w string) string {
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + strings.ToLower(w[1:])
}

// maxLevelWord is how many leading words of a plain line can hold its
// level: a timestamp (date, time, zone), a process id and a thread or
// logger name come first in the common layouts.
const maxLevelWord = 6

// levelWords are the level words of plain lines, as layouts print them.
var levelWords = map[string]bool{
	"TRACE": true, "DEBUG": true, "INFO": true, "NOTICE": true, "WARN": true, "WARNING": true,
	"ERROR": true, "ERR": true, "SEVERE": true, "CRITICAL": true, "CRIT": true, "ALERT": true,
	"FATAL": true, "PANIC": true, "EMERG": true, "EMERGENCY": true,
}

// knownLevel reports whether a lower-case value names a level.
func knownLevel(v string) bool {
	return levelWords[strings.ToUpper(v)] || v == "emergency" || v == "information"
}

// levelFields are the names a structured line gives its level, lower case.
var levelFields = map[string]bool{"level": true, "lvl": true, "severity": true, "loglevel": true, "log_level": true, "log.level": true, "severity_text": true, "severitytext": true,
	"@l": true, "@level": true} // Serilog's compact JSON

// levelName is a level value in lower case; a number is the bunyan and
// pino scale (10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal),
// any other number none ("": syslog's 3 is an error, OpenTelemetry's 17
// too; a number alone does not say which scale it is on).
func levelName(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if n, err := strconv.Atoi(v); err == nil {
		return map[int]string{10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal"}[n]
	}
	return v
}

// fieldValue finds the value of the first level field of a JSON object
// (json) or a logfmt line: a key of levelFields, any case, then ':' (JSON)
// or '=' (logfmt), then a quoted string or a bare word. It reads no
// further than it must, and nothing it reads is trusted to be well formed.
func fieldValue(s string, json bool) (string, bool) {
	sep := byte('=')
	if json {
		sep = ':'
	}
	for i := 0; i < len(s); i++ {
		if s[i] != sep || i == 0 {
			continue
		}
		// The key ends just before the separator (JSON: after its quote).
		end := i
		for end > 0 && s[end-1] == ' ' {
			end--
		}
		if json {
			if end == 0 || s[end-1] != '"' {
				continue
			}
			end--
		}
		start := end
		for start > 0 && keyByte(s[start-1]) {
			start--
		}
		if json && (start == 0 || s[start-1] != '"') || !json && start > 0 && s[start-1] != ' ' {
			continue
		}
		if !levelFields[strings.ToLower(s[start:end])] {
			continue
		}
		v := strings.TrimLeft(s[i+1:], " ")
		if strings.HasPrefix(v, `"`) {
			if j := strings.IndexByte(v[1:], '"'); j >= 0 {
				return v[1 : 1+j], true
			}
			return "", false
		}
		j := strings.IndexAny(v, " ,}")
		if j < 0 {
			j = len(v)
		}
		if j == 0 {
			return "", false
		}
		return v[:j], true
	}
	return "", false
}

func keyByte(c byte) bool {
	return c == '_' || c == '.' || c == '@' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// apacheLevel is the level of Apache's [module:level] word, or "".
func apacheLevel(l string) string {
	if len(l) == len("trace1") && strings.HasPrefix(l, "trace") && l[5] >= '1' && l[5] <= '8' {
		return "trace"
	}
	if levelWords[strings.ToUpper(l)] && l == strings.ToLower(l) {
		return levelName(l)
	}
	return ""
}

// channelName reports whether s reads as a Monolog channel: words of
// letters, digits, '_' and '-', joined by dots.
func channelName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}
