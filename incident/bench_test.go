package incident

import (
	"context"
	"strings"
	"testing"
	"time"
)

// BenchmarkAppend is one log entry: open, lock, check the tail, write,
// fsync, close. It bounds how fast two terminals can write.
func BenchmarkAppend(b *testing.B) {
	s, id := benchIncident(b)
	ctx := context.Background()
	e := Entry{Time: d0, Kind: KindNote, Author: "alice", Text: strings.Repeat("gateway upstream timeouts ", 4)}
	b.ReportAllocs()
	for b.Loop() {
		e.Time = e.Time.Add(time.Second)
		if _, err := s.Append(ctx, id, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadLog reads back a log of 1,000 entries, as every command
// that drafts from the log does.
func BenchmarkReadLog(b *testing.B) {
	s, id := benchIncident(b)
	ctx := context.Background()
	for i := range 999 {
		e := Entry{Time: d0.Add(time.Duration(i) * time.Second), Kind: KindNote, Author: "alice", Text: "note"}
		if _, err := s.Append(ctx, id, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := s.Read(ctx, id)
		if err != nil || len(l.Entries) != 1000 {
			b.Fatalf("read %d entries, %v", len(l.Entries), err)
		}
	}
}

// benchIncident is a store in a temporary folder with one incident started.
func benchIncident(b *testing.B) (Store, string) {
	b.Helper()
	s := Store{Dir: b.TempDir()}
	id, err := s.Start(context.Background(), StartOptions{Title: "bench", Time: d0})
	if err != nil {
		b.Fatal(err)
	}
	return s, id
}
