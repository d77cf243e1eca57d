package incident

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Start is the log's start entry: the first entry of kind start.
func (l *Log) Start() (Entry, bool) {
	for _, e := range l.Entries {
		if e.Kind == KindStart {
			return e, true
		}
	}
	return Entry{}, false
}

// Status is where the incident stands according to its log: resolved once
// any resolve entry is written, monitoring after a mitigation, identified
// once an analysis names a root cause with confidence (not Tentative), and
// investigating until then.
func (l *Log) Status() Status {
	var mitigated, identified bool
	for _, e := range l.Entries {
		switch e.Kind {
		case KindResolve:
			return StatusResolved
		case KindMitigate:
			mitigated = true
		case KindAnalysis:
			if e.Analysis != nil && e.Analysis.RootCause != "" && !e.Analysis.Tentative {
				identified = true
			}
		}
	}
	switch {
	case mitigated:
		return StatusMonitoring
	case identified:
		return StatusIdentified
	}
	return StatusInvestigating
}

// Timeline is the entries in the order they happened: by Time, entries of
// the same time in the order they were written. The log file keeps the
// order of writing, so an entry backdated with --at reads in its place.
func (l *Log) Timeline() []Entry {
	out := slices.Clone(l.Entries)
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return out
}

// tornErr is the Problem text for a last line cut off mid-write.
const tornErr = "incomplete last entry (the write was cut off, e.g. by a crash); every entry before it is intact"

// parsed is a log file, or the part of it from some offset, as read back.
type parsed struct {
	Entries  []Entry
	Problems []Problem
	// End is the number of bytes read up to the end of the last complete
	// line: where the next read of new entries starts. An unterminated last
	// line counts when it holds a whole entry.
	End int64
	// Lines is the number of lines seen, the last one unterminated or not.
	Lines int
}

// parseLog reads JSON lines. A line that is not an entry is a Problem and
// is skipped; the rest is still returned. Lines have no length limit.
func parseLog(ctx context.Context, r io.Reader) (parsed, error) {
	var p parsed
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			p.Lines++
			off += int64(len(b))
			terminated := b[len(b)-1] == '\n'
			if len(bytes.TrimSpace(b)) == 0 {
				if terminated {
					p.End = off
				}
			} else if e, msg, syntax := parseEntry(b); msg == "" {
				p.Entries = append(p.Entries, e)
				p.End = off
			} else if !terminated && syntax {
				p.Problems = append(p.Problems, Problem{Line: p.Lines, Torn: true, Err: tornErr})
			} else {
				p.Problems = append(p.Problems, Problem{Line: p.Lines, Err: msg})
				if terminated {
					p.End = off
				}
			}
			if p.Lines%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return parsed{}, err
				}
			}
		}
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return parsed{}, err
		}
	}
}

// parseEntry decodes one line. On failure it says why in words that never
// quote the line (entries may hold anything), and whether the line is not
// JSON at all, as a line cut off mid-write is not.
func parseEntry(b []byte) (e Entry, msg string, syntax bool) {
	if err := json.Unmarshal(b, &e); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
			return Entry{}, "not a complete JSON entry (a fragment of an interrupted write, or a damaged line); skipped", true
		case errors.As(err, &te) && te.Field != "":
			return Entry{}, fmt.Sprintf("field %q has the wrong type; skipped", te.Field), false
		case errors.As(err, &te):
			return Entry{}, "not a JSON object; skipped", false
		}
		return Entry{}, "a field holds an invalid value (times must be RFC 3339); skipped", false
	}
	switch {
	case e.Kind == "":
		return Entry{}, "entry has no kind; skipped", false
	case e.Time.IsZero():
		return Entry{}, "entry has no time; skipped", false
	}
	return e, "", false
}
