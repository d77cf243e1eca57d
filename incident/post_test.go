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

	"github.com/rca-tool/rca/collectors/sourcetest"
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

// Issue 17, defects 3 and 10: the webhook's URL is its secret. A server
// that echoes the path, a redirect to another host (which must not be
// followed: it would get the URL as Referer, and the POST would turn into
// an empty GET that "succeeds"), or escapes in the answer: the error says
// what went wrong on one clean line, without the path or query.
func TestPostUpdateHostile(t *testing.T) {
	const path, query = "/services/T0/B0/HOOK-SECRET-PATH", "token=HOOK-SECRET-QUERY"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cannot POST "+r.URL.RequestURI()+" HOOK-SECRET-PATH", http.StatusNotFound)
	}))
	defer echo.Close()
	for _, mode := range []sourcetest.Mode{"echo", sourcetest.Redirect, sourcetest.Escapes, sourcetest.Drip, sourcetest.Endless, sourcetest.HugeLength, sourcetest.RateLimit} {
		t.Run(string(mode), func(t *testing.T) {
			base := echo.URL
			var srv *sourcetest.Hostile
			if mode != "echo" {
				srv = sourcetest.NewHostile(t, mode)
				base = srv.URL
			}
			start := time.Now()
			err := postUpdate(context.Background(), mustURL(t, base+path+"?"+query), "update", 2*time.Second)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s", took)
			}
			switch mode {
			case sourcetest.Drip, sourcetest.Endless, sourcetest.HugeLength:
				// A 2xx is the webhook's yes: its body is not waited for.
				if took := time.Since(start); err != nil || took > time.Second {
					t.Errorf("a 200 answer: err %v after %s", err, took)
				}
				return
			}
			if err == nil {
				t.Fatal("no error: the update would be recorded as sent")
			}
			msg := err.Error()
			if strings.Contains(msg, "SECRET") || strings.Contains(msg, "/services") || strings.Contains(msg, "B0/") {
				t.Errorf("the webhook's secret shows: %s", msg)
			}
			if strings.Contains(msg, "\n") || sourcetest.HasEscape(msg) {
				t.Errorf("not one clean line: %q", msg)
			}
			if !strings.Contains(msg, "not recorded as sent") {
				t.Errorf("err = %q, want it to say the update was not recorded", msg)
			}
			if mode == sourcetest.Redirect {
				if got := srv.Elsewhere(); len(got) > 0 {
					t.Errorf("the redirect was followed; another host got %q", got)
				}
				if !strings.Contains(msg, "redirect") {
					t.Errorf("err = %q, want it to name the redirect", msg)
				}
			}
		})
	}
}
