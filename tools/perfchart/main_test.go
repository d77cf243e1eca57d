package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadMedians(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       map[int]float64
		err        bool
	}{
		{
			name: "median of the runs, GOMAXPROCS suffix dropped",
			text: "goos: linux\nBenchmarkX/series=1000-2   3   100 ns/op   40 cpu-ms/op\nBenchmarkX/series=1000-2   3   100 ns/op   20 cpu-ms/op\nBenchmarkX/series=1000-2   3   100 ns/op   30 cpu-ms/op\nBenchmarkX/series=50000   1   9 ns/op   500 cpu-ms/op\nPASS\n",
			want: map[int]float64{1000: 30, 50000: 500},
		},
		{
			name: "an even count averages the middle two",
			text: "BenchmarkX/series=10   1   1 ns/op   10 cpu-ms/op\nBenchmarkX/series=10   1   1 ns/op   20 cpu-ms/op\n",
			want: map[int]float64{10: 15},
		},
		{name: "no such metric", text: "BenchmarkX/series=10   1   1 ns/op\n", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := read(p, "cpu-ms/op", 1)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error: %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for n, v := range tc.want {
				if got[n] != v {
					t.Errorf("series=%d: %v, want %v", n, got[n], v)
				}
			}
		})
	}
}

func TestDrawIsSVG(t *testing.T) {
	svg := draw([]curve{{"after", map[int]float64{1000: 30, 10000: 300, 50000: 1749.5}}, {"a<b", map[int]float64{1000: 200}}}, "t & u", "ms")
	for _, want := range []string{"<svg ", "</svg>", "<polyline", "a&lt;b", "t &amp; u", ">300<", ">1k<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
}
