package httpsource

import "testing"

func TestNames(t *testing.T) {
	bare := Names{}
	cli := Names{Section: "sources.loki", Set: map[string]string{"url": "--loki-url"}}
	for _, tc := range []struct{ got, want string }{
		{bare.Field("timeout"), "timeout"},
		{bare.In(), ""},
		{cli.Field("timeout"), "sources.loki.timeout"},
		{cli.Field("url"), "--loki-url"},
		{cli.In(), " in sources.loki"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
