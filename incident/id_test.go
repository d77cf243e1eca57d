package incident

import (
	"strings"
	"testing"
	"time"
)

func TestNewID(t *testing.T) {
	at := time.Date(2026, 11, 24, 14, 2, 59, 0, time.UTC)
	tests := []struct {
		name, title, want string
		t                 time.Time
	}{
		{"plain", "Checkout 500s", "INC-20261124-1402-checkout-500s", at},
		{"punctuation runs", "  API: 5xx!!  on /checkout -- again ", "INC-20261124-1402-api-5xx-on-checkout-again", at},
		{"apostrophe keeps word", "Users can't pay", "INC-20261124-1402-users-cant-pay", at},
		{"accents folded", "Café crème: paiement en panne", "INC-20261124-1402-cafe-creme-paiement-en-panne", at},
		{"upper-case accents", "ÉCHEC DU PAIEMENT", "INC-20261124-1402-echec-du-paiement", at},
		{"german sharp s", "Straße gesperrt", "INC-20261124-1402-strasse-gesperrt", at},
		{"combining mark", "İstanbul down", "INC-20261124-1402-istanbul-down", at},
		{"no ascii at all", "支付失败", "INC-20261124-1402", at},
		{"emoji only", "🔥🔥🔥", "INC-20261124-1402", at},
		{"emoji around", "🔥 Checkout 🔥", "INC-20261124-1402-checkout", at},
		{"mixed script", "payment 支付 failed", "INC-20261124-1402-payment-failed", at},
		{"long title cut at word", "Checkout service returns 500s for every request in eu-west-1", "INC-20261124-1402-checkout-service-returns-500s", at},
		{"boundary exactly at the limit", "abcdefghij abcdefghij abcdefghij x", "INC-20261124-1402-abcdefghij-abcdefghij-abcdefghij", at},
		{"one long word cut mid-word", strings.Repeat("x", 80), "INC-20261124-1402-" + strings.Repeat("x", maxSlug), at},
		{"early dash only, cut mid-word", "a " + strings.Repeat("y", 60), "INC-20261124-1402-a-" + strings.Repeat("y", maxSlug-2), at},
		{"time converted to UTC", "db", "INC-20261124-1302-db", time.Date(2026, 11, 24, 14, 2, 0, 0, time.FixedZone("CET", 3600))},
		{"date rolls over in UTC", "db", "INC-20261125-0130-db", time.Date(2026, 11, 24, 20, 30, 0, 0, time.FixedZone("EST", -5*3600))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewID(tt.t, tt.title)
			if got != tt.want {
				t.Errorf("NewID(%q) = %q, want %q", tt.title, got, tt.want)
			}
			if s := strings.TrimPrefix(got, "INC-20261124-1402-"); len(s) > maxSlug && s != got {
				t.Errorf("slug %q is longer than %d", s, maxSlug)
			}
			if err := checkID(got); err != nil {
				t.Errorf("generated ID is not valid: %v", err)
			}
		})
	}
}

func TestNormalizeSeverity(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"SEV1", "SEV1", true},
		{"sev2", "SEV2", true},
		{" Sev5 ", "SEV5", true},
		{"SEV0", "", false},
		{"SEV6", "", false},
		{"SEV12", "", false},
		{"P1", "", false},
		{"critical", "", false},
		{"1", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizeSeverity(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeSeverity(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), "SEV1") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("NormalizeSeverity(%q) error %q should be one line naming the valid values", tt.in, err)
		}
	}
}

func TestCheckID(t *testing.T) {
	bad := []string{
		"", "current", ".", "..", "../etc", "a/../b", "a/b", `a\b`, "/etc/passwd",
		`C:\x`, "C:x", ".hidden", "a..b", "x\x00y", "x\ny", strings.Repeat("a", 201),
	}
	for _, id := range bad {
		if err := checkID(id); err == nil {
			t.Errorf("checkID(%q) = nil, want an error", id)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("checkID(%q) error is not one line: %q", id, err)
		}
	}
	good := []string{"INC-20261124-1402-checkout-500s", "INC-20261124-1402", "my-incident", "a.b"}
	for _, id := range good {
		if err := checkID(id); err != nil {
			t.Errorf("checkID(%q) = %v, want nil", id, err)
		}
	}
}

func TestIDTime(t *testing.T) {
	got, ok := idTime("INC-20261124-1402-checkout")
	if want := time.Date(2026, 11, 24, 14, 2, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("idTime = %v, %v; want %v", got, ok, want)
	}
	for _, id := range []string{"my-incident", "INC-2026", "INC-20261399-9999"} {
		if _, ok := idTime(id); ok {
			t.Errorf("idTime(%q) ok, want not", id)
		}
	}
}
