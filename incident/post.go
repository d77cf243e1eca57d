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
)

// postTimeout is how long PostUpdate waits for the webhook.
const postTimeout = 15 * time.Second

// PostUpdate sends text as a Slack-style incoming webhook message. Errors
// name the host only: the path of a webhook URL is its secret.
func PostUpdate(ctx context.Context, hook *url.URL, text string) error {
	return postUpdate(ctx, hook, text, postTimeout)
}

func postUpdate(ctx context.Context, hook *url.URL, text string, timeout time.Duration) error {
	// Slack reads &, < and > as markup: a log line must not become a link
	// or a mention.
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
	body, err := json.Marshal(map[string]string{"text": esc})
	if err != nil {
		return fmt.Errorf("encoding the update: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("posting the update to the webhook at %s: bad URL", hook.Host)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
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
		return fmt.Errorf("posting the update to the webhook at %s: %s; the update was not recorded as sent, try again", hook.Host, reason)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("posting the update to the webhook at %s: %s %s; the update was not recorded as sent, check the URL", hook.Host, resp.Status, oneLine(string(msg)))
	}
	return nil
}
