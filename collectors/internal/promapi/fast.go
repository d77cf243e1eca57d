package promapi

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/telemetry"
)

// fastMatrix reads a matrix result in the shape Prometheus and Loki write
// it, straight into columns: [{"metric":{"k":"v",...},"values":
// [[<seconds>,"<value>"],...]},...], keys in any order, any whitespace.
// raw must be valid JSON (the envelope's decode checked it: this reads, it
// does not validate). Anything else
// (escapes in a string, histograms, null, other keys, a number that is not
// a plain decimal, a value the library would read otherwise) returns false,
// and the caller decodes the result with the library instead: this path
// never decides what a body means, it only reads the common one faster
// (the library makes a SamplePair of each sample through a json.Unmarshal
// of its own, several times the cost of the sample).
func fastMatrix(raw []byte) ([]telemetry.Series, bool) {
	p := scanner{b: raw}
	out := make([]telemetry.Series, 0)
	ok := p.list('[', ']', func() bool {
		s, ok := p.series()
		out = append(out, s)
		return ok
	})
	if !ok || !p.end() {
		return nil, false
	}
	return out, true
}

type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// list reads open, items separated by commas, and close, whitespace
// anywhere between; item reads one and says whether it could.
func (p *scanner) list(open, close byte, item func() bool) bool {
	if p.ws(); !p.eat(open) {
		return false
	}
	if p.ws(); p.eat(close) {
		return true
	}
	for {
		if p.ws(); !item() {
			return false
		}
		p.ws()
		if p.eat(close) {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// field reads a key and its colon.
func (p *scanner) field() (string, bool) {
	k, ok := p.str()
	if !ok {
		return "", false
	}
	p.ws()
	return string(k), p.eat(':')
}

// str reads a string without escapes (one with a backslash, or not UTF-8,
// is left to the library), as the bytes between its quotes.
func (p *scanner) str() ([]byte, bool) {
	if p.ws(); !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			v := p.b[start : p.i-1]
			return v, utf8.Valid(v) // the library turns bad bytes into U+FFFD
		case c == '\\' || c < 0x20:
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// series reads one {"metric":...,"values":...} object.
func (p *scanner) series() (telemetry.Series, bool) {
	var s telemetry.Series
	var sawMetric, sawValues bool
	ok := p.list('{', '}', func() bool {
		switch key, ok := p.field(); {
		case !ok:
			return false
		case key == "metric" && !sawMetric:
			sawMetric = true
			return p.metric(&s)
		case key == "values" && !sawValues:
			sawValues = true
			return p.values(&s)
		}
		return false
	})
	if s.Labels == nil {
		s.Labels = telemetry.Labels{}
	}
	if s.Len() > 0 {
		s.SortSamples()
	}
	return s, ok
}

// metric reads the label set; __name__ becomes the series' Metric. A name
// the library would refuse, or read twice (it keeps the last), is left to
// it.
func (p *scanner) metric(s *telemetry.Series) bool {
	s.Labels = telemetry.Labels{}
	sawName := false
	return p.list('{', '}', func() bool {
		name, ok := p.field()
		if !ok {
			return false
		}
		v, ok := p.str()
		if _, dup := s.Labels[name]; !ok || dup || !model.UTF8Validation.IsValidLabelName(name) {
			return false
		}
		if name != string(model.MetricNameLabel) {
			s.Labels[name] = string(v)
			return true
		}
		if sawName {
			return false
		}
		s.Metric, sawName = string(v), true
		return true
	})
}

// values reads [[<seconds>,"<value>"],...] into the columns, sized once,
// so no spare room from append stays with the series.
func (p *scanner) values(s *telemetry.Series) bool {
	return p.list('[', ']', func() bool {
		if s.Times == nil {
			n := pairs(p.b[p.i:])
			s.Times, s.Values = make([]int64, 0, n), make([]float64, 0, n)
		}
		if !p.eat('[') {
			return false
		}
		p.ws()
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '.' || p.b[p.i] == '-') {
			p.i++
		}
		ts, ok := seconds(p.b[start:p.i])
		if !ok {
			return false
		}
		if p.ws(); !p.eat(',') {
			return false
		}
		v, ok := p.str()
		if !ok {
			return false
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if p.ws(); err != nil || !p.eat(']') {
			return false
		}
		s.Times = append(s.Times, int64(ts)*nsPerMs)
		s.Values = append(s.Values, f)
		return true
	})
}

// pairs counts the pairs up to the end of a values array that starts at b:
// the opening brackets before the first "]]". It is only a size: a body it
// miscounts is one values() turns down, or a capacity off.
func pairs(b []byte) int {
	n := 0
	for i, c := range b {
		switch c {
		case '[':
			n++
		case ']':
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j < len(b) && b[j] == ']' {
				return n
			}
		}
	}
	return n
}

// seconds reads a timestamp as model.Time does, for the plain decimals it
// is given: digits, then at most one dot and three more (a longer fraction,
// an exponent or a sign is left to the library). It must be a time a series
// can hold.
func seconds(b []byte) (model.Time, bool) {
	whole, frac, dot := bytes.Cut(b, []byte("."))
	if len(whole) == 0 || len(whole) > 12 || dot && (len(frac) == 0 || len(frac) > 3) {
		return 0, false
	}
	var ms int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms = ms*10 + int64(c-'0')
	}
	ms *= 1000
	scale := int64(100)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		ms += int64(c-'0') * scale
		scale /= 10
	}
	t := model.Time(ms)
	return t, inRange(t)
}
