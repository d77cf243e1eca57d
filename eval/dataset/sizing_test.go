package dataset

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rca-tool/rca/telemetry"
)

func TestExpectedRows(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		total, mean, columns int64
		want                 int
	}{
		{"unknown row length", 1 << 20, 0, 10, sampleRows},
		{"rows as long as the first ones, and a sixteenth more", 100_000, 100, 10, 1000 + 62 + 1},
		{"never fewer than the sample", 1000, 100, 10, sampleRows},
		{"never more than a comma per column allows", 1_000_000, 10, 1000, 1001},
	} {
		if got := expectedRows(tc.total, tc.mean, tc.columns); got != tc.want {
			t.Errorf("%s: expectedRows(%d, %d, %d) = %d, want %d", tc.name, tc.total, tc.mean, tc.columns, got, tc.want)
		}
	}
}

// The size only decides how the columns are allocated: a size that is
// unknown, right, too small or too large reads the same series,
// dense or sparse, with no column left holding more than twice its points.
func TestReadWideCSVSizeOnlyAllocates(t *testing.T) {
	var b strings.Builder
	b.WriteString(`timestamp,"a{service=""x""}","b{service=""y""}","c{service=""z""}"` + "\n")
	for i := range 300 {
		sparse := ""
		if i%50 == 0 {
			sparse = fmt.Sprint(i)
		}
		late := ""
		if i > 200 {
			late = "1.5"
		}
		fmt.Fprintf(&b, "%d,%d.25,%s,%s\n", 1000+60*i, i, sparse, late)
	}
	text := b.String()
	base := telemetry.Window{From: time.Unix(1000, 0), To: time.Unix(1000+60*200, 0)}
	win := telemetry.Window{From: time.Unix(1000+60*200, 0), To: time.Unix(1000+60*300, 0)}
	want, err := readWideCSV(context.Background(), strings.NewReader(text), 0, win, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 || want[0].Len() != 300 || want[1].Len() != 6 || want[2].Len() != 99 {
		t.Fatalf("read %d series, want 3 of 300, 6 and 99 points", len(want))
	}
	for _, size := range []int64{int64(len(text)), int64(len(text)) / 3, 4 * int64(len(text))} {
		got, err := readWideCSV(context.Background(), strings.NewReader(text), size, win, base)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("size %d: the series differ from those read with no size", size)
		}
		for _, s := range got {
			if cap(s.Points()) > 2*s.Len() && cap(s.Points()) > sampleRows {
				t.Errorf("size %d: %s holds %d points in room for %d", size, s.ID(), s.Len(), cap(s.Points()))
			}
		}
	}
}
