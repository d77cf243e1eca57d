package analysis

import (
	"strconv"
	"strings"
)

// lineLevel is the level a log line states in its text, lower case, or ""
// when it states none: the level field of a JSON or logfmt line, else a
// level word among the first words of a plain line ("2018-09-14 11:13:27
// 2268 ERROR nova.compute", "[WARN] retrying", "ERROR:root:failed", klog's
// "E1207"). A stream without a level label still says which of its lines
// are errors. A word of the message itself ("error: <nil>", or any word
// past the first few) is not a level. The lines of an exception report,
// which carry no level of their own, are errors (see exceptionLine).
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
	words := strings.Fields(s)
	if len(words) > 1 {
		if l := klogLevel(words[0], words[1]); l != "" {
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
			w = w[:j] // ERROR:root:message, Error: message
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
// "Traceback (most recent call last):", Go's "panic: ...") and its stack
// frames ("at com.shop.Cart.add(Cart.java:42)", "at Object.run
// (/app/index.js:3:5)", `File "app.py", line 3, in run`). A service that
// starts throwing says so in these lines, and in no level. A loggers'
// warning with a stack trace reads as an error too: rarer, and a new one
// in the window is worth the look.
func exceptionLine(s string) bool {
	for _, p := range []string{"Traceback (most recent call last)", "Caused by: ", "Exception in thread ", "panic: "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(s, "at "); ok {
		// A frame: a qualified function, then its place in parentheses.
		name, _, _ := strings.Cut(rest, "(")
		name = strings.TrimSpace(name)
		return strings.Contains(rest, "(") && name != "" && !strings.ContainsAny(name, " ") && strings.Contains(name, ".")
	}
	if strings.HasPrefix(s, `File "`) && strings.Contains(s, `", line `) {
		return true
	}
	// An exception's type, qualified or not, alone or before its message.
	typ, _, _ := strings.Cut(s, ":")
	if typ == s && strings.ContainsAny(s, " \t") {
		return false
	}
	class := typ[strings.LastIndexByte(typ, '.')+1:]
	for _, suffix := range []string{"Exception", "Error"} {
		if len(class) > len(suffix) && strings.HasSuffix(class, suffix) && 'A' <= class[0] && class[0] <= 'Z' && identifier(typ) {
			return true
		}
	}
	return false
}

// identifier reports whether s is a dotted name of letters, digits, '_'
// and '$' (a Java or Python class, a .NET type).
func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
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
	"FATAL": true, "PANIC": true, "EMERG": true,
}

// knownLevel reports whether a lower-case value names a level.
func knownLevel(v string) bool {
	return levelWords[strings.ToUpper(v)] || v == "emergency" || v == "information"
}

// levelFields are the names a structured line gives its level, lower case.
var levelFields = map[string]bool{"level": true, "lvl": true, "severity": true, "loglevel": true, "log_level": true, "log.level": true, "severity_text": true, "severitytext": true}

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
