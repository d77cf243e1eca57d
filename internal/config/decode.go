package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sections is the typed part of the file.
type sections struct {
	Sources  Sources  `yaml:"sources"`
	Changes  Changes  `yaml:"changes"`
	Incident Incident `yaml:"incident"`
	// Flags takes the flat keys, which walk checks from the node.
	Flags map[string]yaml.Node `yaml:",inline"`
}

func isSection(key string) bool {
	return key == "sources" || key == "changes" || key == "incident"
}

// document is what the Decoder fills: the top mapping as a node, for the
// flat keys and the lines, and the sections typed, from one parse.
type document struct {
	file     *File
	keys     map[string]Key
	top      *yaml.Node
	sections sections
}

// UnmarshalYAML has yaml's older form on purpose: its callback decodes with
// the Decoder's own settings, KnownFields included; Node.Decode would not.
func (d *document) UnmarshalYAML(unmarshal func(any) error) error {
	var c nodeCatcher
	if err := unmarshal(&c); err != nil {
		return err
	}
	d.top = c.n
	if err := d.walk(); err != nil {
		return err
	}
	return unmarshal(&d.sections)
}

// nodeCatcher keeps the node it is decoded from.
type nodeCatcher struct{ n *yaml.Node }

func (c *nodeCatcher) UnmarshalYAML(n *yaml.Node) error {
	c.n = n
	return nil
}

// decode fills f from data with one strict decode.
func decode(f *File, data []byte, keys map[string]Key) error {
	d := document{file: f, keys: keys}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&d)
	// Empty, only comments, or a null document (which never reaches
	// UnmarshalYAML): nothing set.
	if errors.Is(err, io.EOF) || err == nil && d.top == nil {
		return nil
	}
	if err != nil {
		return d.explain(err)
	}
	f.Sources, f.Changes, f.Incident = d.sections.Sources, d.sections.Changes, d.sections.Incident
	return nil
}

// walk checks the flat keys, as the flags' types want them, and the
// sections' shape, and records lines.
func (d *document) walk() error {
	f, top := d.file, d.top
	if top.Kind != yaml.MappingNode {
		return &Error{File: f.Path, Line: top.Line, Err: fmt.Errorf("want a mapping of keys to values (output: json), got %s", kindName(top))}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, val := top.Content[i], top.Content[i+1]
		key := k.Value
		if seen[key] {
			return &Error{File: f.Path, Line: k.Line, Err: fmt.Errorf("key %q is set twice", key)}
		}
		seen[key] = true
		if isSection(key) {
			if val.Tag == "!!null" {
				continue // a section left empty (only comments) sets nothing
			}
			if val.Kind != yaml.MappingNode {
				return &Error{File: f.Path, Line: val.Line, Err: fmt.Errorf("%s wants a mapping (%s), got %s", key, sectionExample(key), kindName(val))}
			}
			f.lines[key] = k.Line
			recordLines(f.lines, key, val, 2)
			continue
		}
		if _, ok := d.keys[key]; !ok {
			return &Error{File: f.Path, Line: k.Line, Err: fmt.Errorf("unknown key %q (known keys: %s)", key, strings.Join(sortedKeys(d.keys), ", "))}
		}
		v, err := flagValue(key, val, d.keys[key])
		if err != nil {
			return &Error{File: f.Path, Line: v.Line, Err: err}
		}
		f.Flags[key] = v
	}
	return nil
}

// flagValue is a flat key's value; on error, its Line says where.
func flagValue(key string, val *yaml.Node, k Key) (Value, error) {
	if isListType(k.Type) && val.Kind == yaml.SequenceNode {
		items := make([]string, 0, len(val.Content))
		for _, item := range val.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return Value{Line: item.Line}, fmt.Errorf("key %q wants a list of strings, got %s in it", key, kindName(item))
			}
			items = append(items, item.Value)
		}
		return Value{List: items, Line: val.Line}, nil
	}
	if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
		return Value{Line: val.Line}, fmt.Errorf("key %q wants a %s value, got %s", key, k.Type, kindName(val))
	}
	if k.Type == "bool" && val.Tag != "!!bool" {
		return Value{Line: val.Line}, fmt.Errorf("key %q wants true or false, got %q", key, val.Value)
	}
	// The text as written: 2026-11-24T14:02:00Z must stay a string for the
	// time parser, not become a YAML timestamp.
	return Value{Text: val.Value, Line: val.Line}, nil
}

func sortedKeys(keys map[string]Key) []string {
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// isListType reports whether a flag type takes several values (repeated
// flags, a YAML list in the file).
func isListType(typ string) bool {
	return strings.HasSuffix(typ, "Array") || strings.HasSuffix(typ, "Slice")
}

// recordLines notes the line of every key in n, depth levels down, under
// prefix. Deeper keys are found when an error needs them.
func recordLines(lines map[string]int, prefix string, n *yaml.Node, depth int) {
	if depth == 0 || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		path := prefix + "." + k.Value
		if _, dup := lines[path]; !dup {
			lines[path] = k.Line
		}
		recordLines(lines, path, n.Content[i+1], depth-1)
	}
}

// sectionExample shows a section's shape in errors.
func sectionExample(key string) string {
	switch key {
	case "changes":
		return "file: deploys.yaml, git: {repo: ...}"
	case "incident":
		return "dir: incidents, update_every: 30m"
	}
	return "prometheus: {url: ...}"
}

func kindName(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "no value"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

// explain turns a decode error into an *Error with a line and words for a
// person: yaml's own messages name Go types.
func (d *document) explain(err error) error {
	path := d.file.Path
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return d.typeError(te)
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	// A syntax error: yaml says "line 3: ...".
	if line, rest, ok := cutLine(msg); ok {
		return &Error{File: path, Line: line, Err: &wordedError{msg: rest, err: err}}
	}
	if d.top == nil {
		return &Error{File: path, Err: &wordedError{msg: msg, err: err}}
	}
	// An error of a type's own UnmarshalYAML (a duration, a TLS setting)
	// comes without a line: find the entry that causes it.
	line, key := locate(d.top, err.Error(), func(n *yaml.Node) error {
		var s sections
		return n.Decode(&s)
	})
	if msg != err.Error() {
		err = &wordedError{msg: msg, err: err}
	}
	return &Error{File: path, Line: line, Key: key, Err: err}
}

// cutLine splits "line 3: rest".
func cutLine(msg string) (int, string, bool) {
	head, rest, ok := strings.Cut(msg, ": ")
	num, found := strings.CutPrefix(head, "line ")
	if !ok || !found {
		return 0, msg, false
	}
	line, err := strconv.Atoi(num)
	if err != nil {
		return 0, msg, false
	}
	return line, rest, true
}

var (
	reUnknown  = regexp.MustCompile(`^field (.+) not found in type \S+$`)
	reSetTwice = regexp.MustCompile(`^(?:field (.+) already set in type \S+|mapping key "(.*)" already defined at line \d+)$`)
	reCannot   = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
)

// typeError words yaml's type errors (unknown keys, a list where a
// string goes, ...), each with its line and key.
func (d *document) typeError(te *yaml.TypeError) error {
	first := &Error{File: d.file.Path}
	var more []string
	for i, issue := range te.Errors {
		line, msg, _ := cutLine(issue)
		key := ""
		if m := reUnknown.FindStringSubmatch(msg); m != nil {
			key = d.parentOf(line, m[1])
			msg = fmt.Sprintf("unknown key %q", m[1])
		} else if m := reSetTwice.FindStringSubmatch(msg); m != nil {
			name := m[1] + m[2]
			key = d.parentOf(line, name)
			msg = fmt.Sprintf("key %q is set twice", name)
		} else if m := reCannot.FindStringSubmatch(msg); m != nil {
			value := m[2]
			var v *yaml.Node
			if key, v = d.valueAt(line, m[1], value); v != nil {
				value = v.Value // yaml cuts it short
			}
			msg = mismatch(m[1], value, m[3])
		}
		if i == 0 {
			first.Line, first.Key = line, key
			first.Err = &wordedError{msg: msg, err: te}
			continue
		}
		if key != "" {
			msg = key + ": " + msg
		}
		more = append(more, fmt.Sprintf("line %d: %s", line, msg))
	}
	if len(more) > 0 {
		first.Err = &wordedError{msg: first.Err.Error() + "; " + strings.Join(more, "; "), err: te}
	}
	return first
}

// wordedError is yaml's error reworded: its text for a person, the
// original underneath.
type wordedError struct {
	msg string
	err error
}

func (e *wordedError) Error() string { return e.msg }
func (e *wordedError) Unwrap() error { return e.err }

// mismatch words "cannot unmarshal !!str `soon` into int".
func mismatch(tag, value, goType string) string {
	got := fmt.Sprintf("%q", value)
	switch tag {
	case "map":
		got = "a mapping"
	case "seq":
		got = "a list"
	}
	want := ""
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		want = "a whole number"
	case strings.HasPrefix(goType, "float"):
		want = "a number"
	case goType == "bool":
		want = "true or false"
	case goType == "string":
		want = "a string"
	case strings.HasPrefix(goType, "[]"):
		want = "a list"
	case strings.HasPrefix(goType, "map["):
		want = "a mapping"
	}
	if want == "" { // a named type: its name means nothing to a reader
		if tag != "map" && tag != "seq" {
			// Not the value: where basic_auth or authorization goes, a
			// lone value is likely a secret.
			got = "a single value"
		}
		return got + " does not fit here"
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}

// parentOf is the dotted key of the mapping holding the key name at line.
func (d *document) parentOf(line int, name string) string {
	path, _ := findOne(d.top, func(k, _ *yaml.Node) bool { return k.Line == line && k.Value == name })
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// valueAt is the entry whose value at line yaml showed as shown (cut to
// "first 7 chars..." when long).
func (d *document) valueAt(line int, tag, shown string) (string, *yaml.Node) {
	shown = strings.TrimSuffix(shown, "...")
	return findOne(d.top, func(_, v *yaml.Node) bool {
		if v.Line != line {
			return false
		}
		switch tag {
		case "map":
			return v.Kind == yaml.MappingNode
		case "seq":
			return v.Kind == yaml.SequenceNode
		}
		return v.Kind == yaml.ScalarNode && strings.HasPrefix(v.Value, shown)
	})
}

// findOne is the dotted key and value of the one mapping entry that match
// accepts; "" and nil when none or several do (flow style puts several
// entries on one line), rather than a guess.
func findOne(top *yaml.Node, match func(k, v *yaml.Node) bool) (string, *yaml.Node) {
	var (
		path  string
		value *yaml.Node
		n     int
	)
	var walk func(m *yaml.Node, prefix string)
	walk = func(m *yaml.Node, prefix string) {
		if m.Kind != yaml.MappingNode || n > 1 {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			if match(k, v) {
				path, value, n = p, v, n+1
			}
			walk(v, p)
		}
	}
	walk(top, "")
	if n != 1 {
		return "", nil
	}
	return path, value
}

// locate finds the entry behind an error that yaml cannot place: going
// down from the top, the one entry that alone (with the path to it) still
// fails with the same message. It returns that entry's line and dotted key,
// or 0 and "" when no single entry does.
func locate(top *yaml.Node, msg string, decode func(*yaml.Node) error) (int, string) {
	var (
		line int
		keys []string
	)
	n := top
	// The nodes are pruned in place while looking, and restored after.
	type saved struct {
		n       *yaml.Node
		content []*yaml.Node
	}
	var undo []saved
	defer func() {
		for _, s := range undo {
			s.n.Content = s.content
		}
	}()
	for n.Kind == yaml.MappingNode {
		all := n.Content
		undo = append(undo, saved{n, all})
		var next *yaml.Node
		for i := 0; i+1 < len(all); i += 2 {
			n.Content = all[i : i+2]
			if err := decode(top); err != nil && err.Error() == msg {
				line, next = all[i].Line, all[i+1]
				keys = append(keys, all[i].Value)
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line, strings.Join(keys, ".")
}
