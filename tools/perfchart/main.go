// Command perfchart draws the scale curve of README's Performance section
// as a small self-contained SVG, from `go test -bench` output:
//
//	perfchart -metric cpu-ms/op -o docs/performance.svg after=after.txt before=before.txt
//
// Each argument is a label and a file of benchmark lines named
// Benchmark<Name>/series=<N>; the value plotted for each N is the median of
// the chosen metric over the file's runs.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "perfchart:", err)
		os.Exit(1)
	}
}

// curve is one labelled line: the median metric per number of series.
type curve struct {
	label  string
	points map[int]float64
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("perfchart", flag.ContinueOnError)
	metric := fl.String("metric", "ns/op", "the benchmark metric to plot")
	title := fl.String("title", "", "chart title")
	unit := fl.String("unit", "", "the y axis' unit (the metric when empty)")
	scale := fl.Float64("scale", 1, "multiply values by this (1e-6: ns to ms)")
	out := fl.String("o", "", "SVG file to write (stdout when empty)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return errors.New("give label=file arguments")
	}
	var curves []curve
	for _, a := range fl.Args() {
		label, file, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("%q: want label=file", a)
		}
		pts, err := read(file, *metric, *scale)
		if err != nil {
			return err
		}
		curves = append(curves, curve{label, pts})
	}
	svg := draw(curves, *title, cmpOr(*unit, *metric))
	if *out == "" {
		_, err := io.WriteString(stdout, svg)
		return err
	}
	return os.WriteFile(*out, []byte(svg), 0o644)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// read takes the median of metric per series=N in a benchmark output file.
func read(path, metric string, scale float64) (map[int]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[int][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		_, size, ok := strings.Cut(fields[0], "/series=")
		if !ok {
			continue
		}
		size, _, _ = strings.Cut(size, "-") // the GOMAXPROCS suffix
		n, err := strconv.Atoi(size)
		if err != nil {
			continue
		}
		for i := 2; i+1 < len(fields); i += 2 {
			if fields[i+1] == metric {
				v, err := strconv.ParseFloat(fields[i], 64)
				if err == nil {
					vals[n] = append(vals[n], v*scale)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("%s: no %s of a Benchmark.../series=N line", path, metric)
	}
	med := map[int]float64{}
	for n, v := range vals {
		slices.Sort(v)
		med[n] = v[len(v)/2]
		if len(v)%2 == 0 {
			med[n] = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
	}
	return med, nil
}

var colors = []string{"#1f6feb", "#cf222e", "#1a7f37", "#8250df"}

// draw renders the curves on linear axes, each point labelled with its value.
func draw(curves []curve, title, unit string) string {
	const (
		w, h                     = 560, 320
		left, right, top, bottom = 64, 24, 36, 44
	)
	maxX, maxY := 0, 0.0
	for _, c := range curves {
		for n, v := range c.points {
			maxX, maxY = max(maxX, n), max(maxY, v)
		}
	}
	yTop := niceCeil(maxY)
	px := func(n int) float64 { return left + float64(n)/float64(maxX)*(w-left-right) }
	py := func(v float64) float64 { return h - bottom - v/yTop*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="13" font-weight="bold">%s</text>`+"\n", left, esc(title))
	for i := 0; i <= 4; i++ {
		v := yTop * float64(i) / 4
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, w-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, num(v))
	}
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2, esc(unit))
	var xs []int
	for _, c := range curves {
		for n := range c.points {
			if !slices.Contains(xs, n) {
				xs = append(xs, n)
			}
		}
	}
	slices.Sort(xs)
	for _, n := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(n), h-bottom+16, num(float64(n)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">series (x 720 points)</text>`+"\n", (left+w-right)/2, h-8)
	for i, c := range curves {
		col := colors[i%len(colors)]
		var ns []int
		for n := range c.points {
			ns = append(ns, n)
		}
		slices.Sort(ns)
		var path []string
		for _, n := range ns {
			path = append(path, fmt.Sprintf("%.1f,%.1f", px(n), py(c.points[n])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(path, " "))
		for _, n := range ns {
			x, y := px(n), py(c.points[n])
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, col)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", x-5, y-6, col, num(c.points[n]))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", left+12, top+6+i*16, col, left+26, top+15+i*16, esc(c.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// num writes an axis or point value: whole numbers from 10 up (1000 as
// 1k when round), two decimals below.
func num(v float64) string {
	switch {
	case v >= 1000 && math.Mod(v, 1000) == 0:
		return strconv.FormatFloat(v/1000, 'f', 0, 64) + "k"
	case v >= 10 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
