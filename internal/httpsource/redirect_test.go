package httpsource

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Issue 17, defect 2: a header set in the config (a secret, as an API
// key) goes to the server's host and its subdomains, never to another
// host a redirect points at, nor after it to anything else in the chain.
func TestHeadersNotSentToAnotherHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	var mu sync.Mutex
	got := map[string]string{} // host -> X-Api-Key received
	record := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Host+r.URL.Path] = r.Header.Get("X-Api-Key")
		mu.Unlock()
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		if r.URL.Path == "/bounce" { // back to the first host
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		}
	}))
	other.Listener.Close()
	other.Listener = l
	other.Start()
	defer other.Close()
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/landed", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/away", http.StatusFound)
		case "/roundtrip":
			http.Redirect(w, r, other.URL+"/bounce?to="+srvURL+"/back", http.StatusFound)
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	c := New(srv.URL)
	c.Headers = map[string]string{"X-Api-Key": "header-secret-1234"}
	c.Retries = -1
	c, err = c.Check("test")
	if err != nil {
		t.Fatal(err)
	}
	hc, err := c.Client(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/same", "/away", "/roundtrip"} {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	srvHost, otherHost := strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(other.URL, "http://")
	want := map[string]string{
		srvHost + "/same": "header-secret-1234", srvHost + "/landed": "header-secret-1234",
		srvHost + "/away": "header-secret-1234", otherHost + "/away": "",
		srvHost + "/roundtrip": "header-secret-1234", otherHost + "/bounce": "", srvHost + "/back": "",
	}
	mu.Lock()
	defer mu.Unlock()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s got X-Api-Key %q, want %q", k, got[k], v)
		}
	}
}

func TestDomainOrSubdomain(t *testing.T) {
	for _, tc := range []struct {
		sub, parent string
		want        bool
	}{
		{"prom.example.com", "prom.example.com", true},
		{"eu.prom.example.com", "prom.example.com", true},
		{"evilprom.example.com", "prom.example.com", false},
		{"example.com", "prom.example.com", false},
		{"127.0.0.2", "127.0.0.1", false},
		{"::1%.prom.example.com", "prom.example.com", false},
	} {
		if got := domainOrSubdomain(tc.sub, tc.parent); got != tc.want {
			t.Errorf("domainOrSubdomain(%q, %q) = %v", tc.sub, tc.parent, got)
		}
	}
}
