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
// are errors. Words of the message itself ("error" in lower case, past the
// first few words) are not a level.
func lineLevel(line string) string {
	s := strings.TrimSpace(line)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		if v, ok := fieldValue(s, true); ok && knownLevel(levelName(v)) {
			return levelName(v)
		}
		return ""
	}
	if v, ok := fieldValue(s, false); ok && knownLevel(levelName(v)) {
		return levelName(v)
	}
	for i, w := range strings.Fields(s) {
		if i == maxLevelWord {
			break
		}
		if i == 0 && len(w) == 5 && strings.ContainsRune("IWEF", rune(w[0])) && digits(w[1:]) {
			return map[byte]string{'I': "info", 'W': "warning", 'E': "error", 'F': "fatal"}[w[0]] // klog, glog
		}
		bracketed := strings.IndexAny(w, "[(<") == 0
		w = strings.Trim(w, "[]()<>|,;\"'")
		if j := strings.IndexByte(w, ':'); j > 0 {
			w, bracketed = w[:j], true // ERROR:root:message, error: message
		}
		if levelWords[w] || bracketed && levelWords[strings.ToUpper(w)] {
			return levelName(w)
		}
	}
	return ""
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
// pino scale (10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal).
func levelName(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if n, err := strconv.Atoi(v); err == nil {
		switch {
		case n >= 60:
			return "fatal"
		case n >= 50:
			return "error"
		case n >= 40:
			return "warn"
		case n >= 30:
			return "info"
		case n >= 20:
			return "debug"
		default:
			return "trace"
		}
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
