package httpsource

import (
	"cmp"
	"encoding/base64"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/rca-tool/rca/internal/termui"
)

// Secrets lists every credential the configuration holds, including the
// contents of the files it names, so messages can be scrubbed of them.
func (c Config) Secrets() []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	read := func(name string) string {
		if name == "" {
			return ""
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(data))
	}
	file := func(name string) { add(read(name)) }
	h := c.HTTPClientConfig
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
	}
	if ba := h.BasicAuth; ba != nil {
		user, pw := ba.Username, string(ba.Password)
		if ba.UsernameFile != "" {
			user = read(ba.UsernameFile)
		}
		if ba.PasswordFile != "" {
			pw = read(ba.PasswordFile)
		}
		add(pw)
		// The Authorization header carries the password in base64, and a
		// server may echo the header back.
		if pw != "" {
			add(base64.StdEncoding.EncodeToString([]byte(user + ":" + pw)))
		}
	}
	if h.Authorization != nil {
		add(string(h.Authorization.Credentials))
		file(h.Authorization.CredentialsFile)
	}
	if h.OAuth2 != nil {
		add(string(h.OAuth2.ClientSecret))
		file(h.OAuth2.ClientSecretFile)
		add(string(h.OAuth2.ClientCertificateKey))
	}
	add(string(h.TLSConfig.Key))
	add(string(h.BearerToken))
	file(h.BearerTokenFile)
	if h.HTTPHeaders != nil {
		for _, hv := range h.HTTPHeaders.Headers {
			for _, s := range hv.Secrets {
				add(string(s))
			}
			for _, f := range hv.Files {
				file(f)
			}
		}
	}
	for name, v := range c.Headers {
		if !publicHeader(name) {
			add(v)
		}
	}
	// Longest first: a secret that contains another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(out)
}

// publicHeader reports whether a header's value is an identifier rather
// than a credential: tenant ids are shown in errors to help debugging.
func publicHeader(name string) bool {
	switch strings.ToLower(name) {
	case "x-scope-orgid", "x-grafana-org-id", "user-agent", "accept":
		return true
	}
	return false
}

// Redactor replaces secrets in text. Messages from servers and from
// net/http can echo what was sent; nothing that leaves rca may carry one.
// It makes the text safe to show too: servers' text may carry terminal
// escapes and line breaks, and every message is one line free of them.
type Redactor []string

// String replaces every secret; the longest first, so one that contains
// another does not leave its rest behind. The result is one line without
// terminal escapes (termui.OneLine).
func (r Redactor) String(s string) string {
	return termui.OneLine(r.secrets(s))
}

func (r Redactor) secrets(s string) string {
	if !slices.IsSortedFunc(r, func(a, b string) int { return len(b) - len(a) }) {
		r = slices.Clone(r)
		slices.SortStableFunc(r, func(a, b string) int { return len(b) - len(a) })
	}
	for _, secret := range r {
		if len(secret) >= minBareSecret {
			s = strings.ReplaceAll(s, secret, "<secret>")
			continue
		}
		s = replaceWord(s, secret, "<secret>")
	}
	return s
}

// minBareSecret is the length from which a secret is replaced wherever it
// occurs; a shorter one (a weak password like "pw") only where it stands
// as a word of its own, or every "pw" in a message would become <secret>.
const minBareSecret = 8

// replaceWord replaces occurrences of old that are not inside a longer
// run of letters and digits.
func replaceWord(s, old, repl string) string {
	isWord := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	var b strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(old)
		if (i > 0 && isWord(s[i-1])) || (end < len(s) && isWord(s[end])) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[end:]
	}
}

// redactedError keeps the error chain (errors.Is still works) but scrubs
// the message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Error is err with every secret scrubbed from its message, on one line
// without terminal escapes; errors.Is and errors.As still see the original.
func (r Redactor) Error(err error) error {
	if err == nil {
		return err
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// RedactURL keeps scheme, host and path: credentials travel in user info or
// query parameters, and neither belongs in a message or a file that gets shared.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(redacted: not a URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
