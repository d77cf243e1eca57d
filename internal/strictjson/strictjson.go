// Package strictjson decodes JSON files and API bodies strictly and words
// the errors for a person: a line and column, JSON kinds instead of Go types.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// HintError shows a rewritten message but unwraps to the original error, so
// callers can still match the cause while the user reads one clear line.
type HintError struct {
	Msg string
	Err error
}

func (e *HintError) Error() string { return e.Msg }
func (e *HintError) Unwrap() error { return e.Err }

// Describe turns a decoding error into a message with a line and
// column and JSON terms, instead of Go type names.
func Describe(data []byte, err error) error { return DescribeAt(data, 0, err) }

// DescribeAt is Describe for an error in a part of data
// that starts at byte base.
func DescribeAt(data []byte, base int64, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tim *time.ParseError
	var num *strconv.NumError
	switch {
	case errors.As(err, &syn):
		line, col := LineCol(data, base+syn.Offset)
		return fmt.Errorf("invalid JSON at line %d, column %d: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := LineCol(data, base+typ.Offset)
		field := typ.Field
		if field == "" {
			field = "the top level"
		} else {
			field = strconv.Quote(field)
		}
		return &HintError{
			Msg: fmt.Sprintf("line %d, column %d: %s must be %s, not a JSON %s", line, col, field, jsonKind(typ.Type), typ.Value),
			Err: err,
		}
	case asNumError(err, &num):
		return &HintError{Msg: numberMessage(num.Func, num.Num), Err: err}
	case errors.As(err, &tim):
		return &HintError{
			Msg: fmt.Sprintf("time %s is not RFC3339 (write it like 2024-05-01T14:00:00Z)", strconv.Quote(trimQuotes(tim.Value))),
			Err: err,
		}
	}
	// Errors of custom decoders (sample values, label names, log entries) already say what is wrong.
	return err
}

// asNumError is a bare strconv failure, as a custom decoder (a sample
// value, a timestamp) returns it; a decoder that wrapped one in its own
// words has said what is wrong already.
func asNumError(err error, num **strconv.NumError) bool {
	n, ok := err.(*strconv.NumError)
	if ok {
		*num = n
	}
	return ok
}

// numberMessage words a strconv failure of a custom decoder (a sample
// value, a timestamp) without Go's function names.
func numberMessage(fn, s string) string {
	shown := s
	if _, err := strconv.Unquote(s); err != nil {
		shown = strconv.Quote(s)
	}
	if strings.HasPrefix(fn, "ParseFloat") {
		return fmt.Sprintf("value %s is not a number (want a decimal in quotes such as \"0.25\", or \"NaN\", \"+Inf\", \"-Inf\")", shown)
	}
	return fmt.Sprintf("%s is not a whole number (want a timestamp in unix seconds such as 1714568400.123)", shown)
}

// Library errors of JSON decoders that name Go types and functions, and
// what a person should read instead.
var (
	goFieldErr   = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go struct field \w+\.([\w.]+) of type ([\w.\[\]*]+)`)
	goValueErr   = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go value of type ([\w.\[\]*]+)`)
	strconvErr   = regexp.MustCompile(`strconv\.(Parse\w+): parsing ("(?:[^"\\]|\\.)*"): [\w ]+`)
	iterContext  = regexp.MustCompile(`, error found in #\d+ byte of \.\.\.\|(?s:.*?)\|\.\.\.(?:, bigger context \.\.\.\|((?s:.*?))\|\.\.\.)?`)
	iterExpect   = regexp.MustCompile(`(?:[A-Z]\w*: )?expects? (\[|\{|") or n, but found (.)`)
	iterNumber   = regexp.MustCompile(`(?:readNumberAsString|ReadInt64|ReadFloat64|ReadUint64): invalid number`)
	goTypePrefix = regexp.MustCompile(`(?:(?:model|v1|json)\.\w+: |(?:unmarshal|decode) (?:model\.\w+|slice|map|struct): )+`)
)

// Plain rewrites the message of a JSON library error (encoding/json's or
// json-iterator's, as the Prometheus client returns them) in JSON terms:
// which field, what was expected, what was found, near which text.
// Messages it does not recognise come back unchanged.
func Plain(msg string) string {
	near := ""
	if m := iterContext.FindStringSubmatch(msg); m != nil {
		near = strings.Join(strings.Fields(m[1]), " ")
		msg = iterContext.ReplaceAllString(msg, "")
	}
	msg = goTypePrefix.ReplaceAllString(msg, "")
	msg = goFieldErr.ReplaceAllStringFunc(msg, func(s string) string {
		m := goFieldErr.FindStringSubmatch(s)
		return fmt.Sprintf("%s must be %s, not a JSON %s", strconv.Quote(m[2]), goKind(m[3]), m[1])
	})
	msg = goValueErr.ReplaceAllStringFunc(msg, func(s string) string {
		m := goValueErr.FindStringSubmatch(s)
		return fmt.Sprintf("expected %s, found a JSON %s", goKind(m[2]), m[1])
	})
	msg = strconvErr.ReplaceAllStringFunc(msg, func(s string) string {
		m := strconvErr.FindStringSubmatch(s)
		num := m[2]
		if u, err := strconv.Unquote(num); err == nil {
			num = u
		}
		return numberMessage(m[1], num)
	})
	msg = iterNumber.ReplaceAllString(msg, "a timestamp or number is not a number")
	msg = iterExpect.ReplaceAllStringFunc(msg, func(s string) string {
		m := iterExpect.FindStringSubmatch(s)
		want := map[string]string{"[": "a list", "{": "an object", `"`: "a string"}[m[1]]
		return fmt.Sprintf("expected %s, found %s", want, strconv.Quote(m[2]))
	})
	if near != "" {
		if len(near) > 80 {
			near = near[len(near)-80:]
		}
		msg += " (near " + strconv.Quote(near) + ")"
	}
	return msg
}

// goKind names the JSON shape of a Go type named in a library message.
func goKind(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "an object"
	}
	return "another JSON type"
}

var ErrEmpty = errors.New("empty file (expected a JSON document)")

// Decode is json.Unmarshal with errors described for a person.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return ErrEmpty
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Describe(data, err)
	}
	return nil
}

// DecodePart decodes part, a verbatim piece of whole (a json.RawMessage
// of it), reporting positions in whole. An absent or null part decodes to
// the zero value.
func DecodePart(whole, part []byte, v any) error {
	if len(part) == 0 {
		return nil
	}
	if err := json.Unmarshal(part, v); err != nil {
		base := bytes.Index(whole, part)
		if base < 0 {
			return Describe(part, err)
		}
		return DescribeAt(whole, int64(base), err)
	}
	return nil
}

func trimQuotes(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// jsonKind names the JSON shape a Go type expects.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC3339 time string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "another type"
}

// LineCol converts a byte offset into a 1-based line and column.
func LineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// NotAPIResponse explains a body that is not JSON at all, which is what a
// failed curl capture usually leaves behind (an HTML page or a text error).
func NotAPIResponse(api string, body []byte) error {
	snippet := bytes.TrimSpace(body)
	if len(snippet) > 60 {
		snippet = snippet[:60]
	}
	return fmt.Errorf("not a %s JSON response (it starts with %q) — save the JSON body of a successful query", api, snippet)
}

// LooksLikeObject reports whether body starts like a JSON object.
func LooksLikeObject(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '{'
}

// MarshalIndent renders v as indented JSON ending in a newline, without
// escaping <, > and & so PromQL and log lines stay readable in a diff.
func MarshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalCompact renders v on one line, without HTML escaping.
func MarshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// OneLine shows a JSON value in an error message: compact and short.
func OneLine(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return strconv.Quote(string(raw))
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
