package telemetry

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// labelsWithFmt is how Labels.String wrote labels before it built them by
// hand: the output must stay byte for byte the same (series IDs are in
// reports, goldens and snapshots).
func labelsWithFmt(l Labels) string {
	names := make([]string, 0, len(l))
	for k := range l {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, l[k])
	}
	b.WriteByte('}')
	return b.String()
}

func TestLabelsString(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Labels
		want string
	}{
		{"none", nil, "{}"},
		{"empty", Labels{}, "{}"},
		{"sorted by name", Labels{"service": "cart", "pod": "cart-0", "a": ""}, `{a="",pod="cart-0",service="cart"}`},
		{"escapes", Labels{"path": "/a \"b\"\\c\nd\te"}, `{path="/a \"b\"\\c\nd\te"}`},
		{"unicode and invalid UTF-8", Labels{"x": "héllo ☃", "y": "bad\xffbyte", "z": "\x00\x7f"}, `{x="héllo ☃",y="bad\xffbyte",z="\x00\x7f"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.l.String()
			if got != tc.want {
				t.Errorf("String() = %s, want %s", got, tc.want)
			}
			if ref := labelsWithFmt(tc.l); got != ref {
				t.Errorf("String() = %s, fmt's %%q gives %s", got, ref)
			}
		})
	}
}

// Sorting and merging leave the columns they were given as they were:
// series may share one Times (see Series).
func TestColumnsNotWrittenInPlace(t *testing.T) {
	shared := []int64{30, 10, 20, 20}
	a := Series{Metric: "a", Times: shared[:4:4], Values: []float64{3, 1, 2, 2.5}}
	b := Series{Metric: "b", Times: shared[:4:4], Values: []float64{6, 4, 5, 5.5}}
	c := Series{Metric: "a", Times: shared[1:3:3], Values: []float64{1.5, 9}}
	a.SortSamples()
	if !slices.Equal(a.Times, []int64{10, 20, 20, 30}) || !slices.Equal(a.Values, []float64{1, 2, 2.5, 3}) {
		t.Errorf("sorted: %v %v", a.Times, a.Values)
	}
	got := MergeSeries([][]Series{{a, b}, {c}})
	if len(got) != 2 || !slices.Equal(got[0].Times, []int64{10, 20, 30}) || !slices.Equal(got[0].Values, []float64{1, 2, 3}) ||
		!slices.Equal(got[1].Times, []int64{10, 20, 30}) || !slices.Equal(got[1].Values, []float64{4, 5, 6}) {
		t.Errorf("merged: %+v", got)
	}
	if !slices.Equal(shared, []int64{30, 10, 20, 20}) || !slices.Equal(b.Values, []float64{6, 4, 5, 5.5}) {
		t.Errorf("the shared times became %v, b's values %v", shared, b.Values)
	}
}
