package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rca-tool/rca/internal/httpsource"
	"github.com/rca-tool/rca/internal/termui"
)

// postTimeout is how long PostUpdate waits for the webhook.
const postTimeout = 15 * time.Second

// PostUpdate sends text as a Slack-style incoming webhook message. Errors
// name the host only: the path and query of a webhook URL are its secret,
// and are scrubbed from whatever the server answers too. A redirect is a
// failure, not followed: following it would send the URL as Referer to
// another host and turn the POST into an empty GET that "succeeds".
func PostUpdate(ctx context.Context, hook *url.URL, text string) error {
	return postUpdate(ctx, hook, text, postTimeout)
}

// webhookClient never follows redirects.
var webhookClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func postUpdate(ctx context.Context, hook *url.URL, text string, timeout time.Duration) error {
	// Slack reads &, < and > as markup: a log line must not become a link
	// or a mention.
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	body, err := json.Marshal(map[string]string{"text": esc})
	if err != nil {
		return fmt.Errorf("encoding the update: %w", err)
	}
	where := "the webhook at " + termui.OneLine(hook.Host)
	secret := hookSecrets(hook)
	// show is text from the server or net/http: one line, no terminal
	// escapes, no part of the webhook's secret path or query.
	show := func(s string) string { return termui.OneLine(secret.String(s)) }
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("posting the update to %s: bad URL", where)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := webhookClient.Do(req)
	if err != nil {
		// url.Error carries the whole URL; its cause names only host:port.
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			reason = fmt.Sprintf("no answer within %s", timeout)
		}
		return fmt.Errorf("posting the update to %s: %s; the update was not recorded as sent, try again", where, show(reason))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 3:
		// Where it points is not shown: it may carry the secret too.
		return fmt.Errorf("posting the update to %s: %s, a redirect, which rca does not follow; the update was not recorded as sent, check the URL", where, show(resp.Status))
	case resp.StatusCode/100 != 2:
		// The body says why, or echoes the request: cut short, and scrubbed.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("posting the update to %s: %s; the update was not recorded as sent, check the URL", where, show(resp.Status+" "+string(msg)))
	}
	return nil
}

// hookSecrets are the parts of a webhook URL that grant posting: its path
// (whole, escaped or not, and each segment after the first), its query
// and the query's values.
func hookSecrets(hook *url.URL) httpsource.Redactor {
	var out []string
	add := func(s string) {
		if s = strings.Trim(s, "/"); s != "" {
			out = append(out, s)
		}
	}
	add(hook.Path)
	add(hook.EscapedPath())
	segs := strings.Split(strings.Trim(hook.Path, "/"), "/")
	for _, s := range segs[min(1, len(segs)):] {
		add(s)
	}
	add(hook.RawQuery)
	for _, vs := range hook.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	return httpsource.Redactor(out)
}
