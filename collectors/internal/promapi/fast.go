package promapi

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/rca-tool/rca/telemetry"
)

// fastMatrix reads a matrix result in the shape Prometheus and Loki write
// it, straight into columns (raw must be valid JSON: the envelope's decode
// checked it, and this reads, not validates): [{"metric":{"k":"v",...},"values":[[<seconds>,
// "<value>"],...]},...], keys in any order, any whitespace. Anything else
// (escapes in a string, histograms, null, other keys, a number that is not
// a plain decimal, a value the library would read otherwise) returns false,
// and the caller decodes the result with the library instead: this path
// never decides what a body means, it only reads the common one faster
// (the library makes a SamplePair of each sample through a json.Unmarshal
// of its own, several times the cost of the sample).
func fastMatrix(raw []byte) ([]telemetry.Series, bool) {
	p := scanner{b: raw}
	out := make([]telemetry.Series, 0)
	if p.ws(); !p.eat('[') {
		return nil, false
	}
	if p.ws(); p.eat(']') {
		return out, p.end()
	}
	for {
		s, ok := p.series()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.ws()
		if p.eat(']') {
			return out, p.end()
		}
		if !p.eat(',') {
			return nil, false
		}
	}
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
	if p.ws(); !p.eat('{') {
		return s, false
	}
	var sawMetric, sawValues bool
	for {
		key, ok := p.str()
		if !ok {
			return s, false
		}
		if p.ws(); !p.eat(':') {
			return s, false
		}
		switch {
		case string(key) == "metric" && !sawMetric:
			sawMetric = true
			if !p.metric(&s) {
				return s, false
			}
		case string(key) == "values" && !sawValues:
			sawValues = true
			if !p.values(&s) {
				return s, false
			}
		default:
			return s, false
		}
		p.ws()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return s, false
		}
	}
	if s.Labels == nil {
		s.Labels = telemetry.Labels{}
	}
	for name := range s.Labels {
		if !model.UTF8Validation.IsValidLabelName(name) {
			return s, false
		}
	}
	if s.Len() > 0 {
		s.SortSamples()
	}
	return s, true
}

// metric reads the label set; __name__ becomes the series' Metric.
func (p *scanner) metric(s *telemetry.Series) bool {
	if p.ws(); !p.eat('{') {
		return false
	}
	s.Labels = telemetry.Labels{}
	if p.ws(); p.eat('}') {
		return true
	}
	seen := 0
	for {
		k, ok := p.str()
		if !ok {
			return false
		}
		if p.ws(); !p.eat(':') {
			return false
		}
		v, ok := p.str()
		if !ok {
			return false
		}
		name := string(k)
		if _, dup := s.Labels[name]; dup || name == "" || (name == string(model.MetricNameLabel) && seen&1 != 0) {
			return false // the library's last-wins is left to it
		}
		if name == string(model.MetricNameLabel) {
			s.Metric, seen = string(v), seen|1
		} else {
			s.Labels[name] = string(v)
		}
		p.ws()
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

// values reads [[<seconds>,"<value>"],...] into the columns.
func (p *scanner) values(s *telemetry.Series) bool {
	if p.ws(); !p.eat('[') {
		return false
	}
	if p.ws(); p.eat(']') {
		return true
	}
	// Sized once, so no spare room from append stays with the series.
	n := pairs(p.b[p.i:])
	s.Times, s.Values = make([]int64, 0, n), make([]float64, 0, n)
	for {
		if p.ws(); !p.eat('[') {
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
		if err != nil {
			return false
		}
		if p.ws(); !p.eat(']') {
			return false
		}
		s.Times = append(s.Times, int64(ts)*nsPerMs)
		s.Values = append(s.Values, f)
		p.ws()
		if p.eat(']') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
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
