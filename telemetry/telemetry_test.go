package telemetry

import (
	"fmt"
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
