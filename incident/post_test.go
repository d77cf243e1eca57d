package incident

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPostUpdate(t *testing.T) {
	var got struct{ Text string }
	var ctype, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype, path = r.Header.Get("Content-Type"), r.URL.Path
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	err := PostUpdate(context.Background(), mustURL(t, srv.URL+"/services/T0/B0/SECRET"), "rolled back <@here> & checked <https://x|y>")
	if err != nil {
		t.Fatal(err)
	}
	if want := "rolled back &lt;@here&gt; &amp; checked &lt;https://x|y&gt;"; got.Text != want {
		t.Errorf("text = %q, want %q", got.Text, want)
	}
	if ctype != "application/json" || path != "/services/T0/B0/SECRET" {
		t.Errorf("content type %q, path %q", ctype, path)
	}
}

func TestPostUpdateFailures(t *testing.T) {
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal\nerror", http.StatusInternalServerError)
	}))
	defer fail.Close()
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(stop)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name, base string
		want       []string
	}{
		{"500", fail.URL, []string{"500 Internal Server Error internal error", "check the URL"}},
		{"timeout", hang.URL, []string{"no answer within 100ms", "try again"}},
		{"closed port", closedURL, []string{"connection refused", "try again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := mustURL(t, tt.base+"/services/T0/B0/SECRETPATH?token=SECRETQUERY")
			err := postUpdate(context.Background(), hook, "update", 100*time.Millisecond)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "/services") {
				t.Errorf("the webhook's secret path shows: %s", msg)
			}
			for _, w := range append(tt.want, "webhook at "+hook.Host, "not recorded as sent") {
				if !strings.Contains(msg, w) {
					t.Errorf("err = %q, want %q in it", msg, w)
				}
			}
		})
	}
}

func TestPostUpdateTimeoutIs15s(t *testing.T) {
	if postTimeout != 15*time.Second {
		t.Errorf("postTimeout = %s, want 15s", postTimeout)
	}
}
