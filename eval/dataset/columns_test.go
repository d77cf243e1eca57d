package dataset

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

// readWideCSV gives each column the samples of its non-empty, finite
// cells, sorted by time (equal times in file order), whatever the shape of
// the table: full columns, holes, columns that start or end late, rows out
// of order. The columns with a sample in every row of a table in time
// order share one Times; the others have their own.
func TestReadWideCSVColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	sharing := 0
	window := telemetry.Window{From: time.Unix(1000, 0), To: time.Unix(2000, 0)}
	baseline := telemetry.Window{From: time.Unix(0, 0), To: time.Unix(1000, 0)}
	for trial := range 300 {
		rows, cols := 2+rng.IntN(200), 1+rng.IntN(6)
		unordered := trial%3 == 0
		var b strings.Builder
		b.WriteString("timestamp")
		for c := range cols {
			fmt.Fprintf(&b, ",m%d", c)
		}
		b.WriteString("\n")
		type sample struct {
			t int64
			v float64
		}
		want := make([][]sample, cols)
		full := make([]bool, cols)
		for c := range full {
			full[c] = true
		}
		for r := range rows {
			sec := int64(500 + 1000*r/rows)
			if unordered && rng.IntN(5) == 0 {
				sec = int64(rng.IntN(2000))
			}
			ts := strconv.FormatInt(sec, 10)
			nanos := sec * int64(time.Second)
			if rng.IntN(4) == 0 {
				ts += ".25"
				nanos += int64(time.Second / 4)
			}
			b.WriteString(ts)
			for c := range cols {
				cell := strconv.FormatFloat(rng.NormFloat64(), 'g', -1, 64)
				hole := -1 // the odd columns are full
				if c%2 == 0 {
					hole = rng.IntN(10 * (c + 1)) // the first columns have the most holes
				}
				switch hole {
				case 0:
					cell = ""
				case 1:
					cell = "NaN"
				case 2:
					cell = "+Inf"
				}
				b.WriteString("," + cell)
				if v, err := strconv.ParseFloat(cell, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					want[c] = append(want[c], sample{nanos, v})
				} else {
					full[c] = false
				}
			}
			b.WriteString("\n")
		}
		csv := b.String()
		got, err := readWideCSV(context.Background(), strings.NewReader(csv), int64(len(csv)), window, baseline)
		if err != nil {
			if strings.Contains(err.Error(), "no rows in the") {
				continue
			}
			t.Fatalf("trial %d: %v", trial, err)
		}
		byName := map[string]telemetry.Series{}
		for _, s := range got {
			byName[s.Metric] = s
		}
		var shared []int64
		for c := range cols {
			w := want[c]
			slices.SortStableFunc(w, func(a, b sample) int { return int(min(max(a.t-b.t, -1), 1)) })
			s, ok := byName[fmt.Sprintf("m%d", c)]
			if len(w) == 0 {
				if ok {
					t.Fatalf("trial %d: column %d has no samples, but a series", trial, c)
				}
				continue
			}
			if s.Len() != len(w) || len(s.Values) != len(w) {
				t.Fatalf("trial %d: column %d: %d times, %d values, want %d", trial, c, s.Len(), len(s.Values), len(w))
			}
			for i, x := range w {
				if s.Times[i] != x.t || s.Values[i] != x.v {
					t.Fatalf("trial %d: column %d sample %d = %d %v, want %d %v", trial, c, i, s.Times[i], s.Values[i], x.t, x.v)
				}
			}
			if full[c] && !unordered {
				if shared != nil && &shared[0] != &s.Times[0] {
					t.Fatalf("trial %d: column %d is full but has its own times", trial, c)
				}
				shared = s.Times
				sharing++
				if cap(s.Times) != len(s.Times) {
					t.Fatalf("trial %d: column %d: shared times with room to append into", trial, c)
				}
			}
		}
	}
	if sharing < 100 {
		t.Errorf("%d full columns in tables in order, want more to check the sharing", sharing)
	}
}

// FuzzReadWideCSV: never panic; what loads has as many times as values,
// in time order, none of them missing or infinite.
func FuzzReadWideCSV(f *testing.F) {
	f.Add("timestamp,a,b\n600,1,2\n1200,,3\n1500,NaN,+Inf\n")
	f.Add("timestamp,\"a{service=\"\"s\"\"}\"\n1200.5,1\n600,2\n600,3\n")
	f.Add("timestamp,a\n9300000000,1\n")
	window := telemetry.Window{From: time.Unix(1000, 0), To: time.Unix(2000, 0)}
	baseline := telemetry.Window{From: time.Unix(0, 0), To: time.Unix(1000, 0)}
	f.Fuzz(func(t *testing.T, csv string) {
		got, err := readWideCSV(context.Background(), strings.NewReader(csv), int64(len(csv)), window, baseline)
		if err != nil {
			return
		}
		for _, s := range got {
			if s.Len() == 0 || len(s.Values) != s.Len() || !slices.IsSorted(s.Times) {
				t.Fatalf("%s: %d times, %d values, sorted %v", s.ID(), s.Len(), len(s.Values), slices.IsSorted(s.Times))
			}
			for _, v := range s.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: value %v", s.ID(), v)
				}
			}
		}
	})
}
