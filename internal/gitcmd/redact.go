package gitcmd

import (
	"bytes"
	"regexp"
	"strings"
)

const (
	// maxCapture is how much of git's standard error is kept.
	maxCapture = 32 << 10
	// maxOutput is how much of it an error shows: its end, where git
	// says what went wrong.
	maxOutput = 4 << 10
)

// Credentials git or a caller might print: the user part of a URL, an
// Authorization header's value, GitHub's token formats.
var (
	credentialsInURL = regexp.MustCompile(`://[^/@\s]+@`)
	authorization    = regexp.MustCompile(`(?i)(authorization:\s*(?:basic|bearer|token)\s+)\S+`)
	githubToken      = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})`)
)

// Redact replaces secrets and anything that looks like credentials in s
// with "***".
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	s = credentialsInURL.ReplaceAllString(s, "://***@")
	s = authorization.ReplaceAllString(s, "${1}***")
	return githubToken.ReplaceAllString(s, "***")
}

// clip keeps the end of a long (already redacted) text.
func clip(s string) string {
	if len(s) <= maxOutput {
		return s
	}
	s = s[len(s)-maxOutput:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "…" + s
}

// boundedBuffer keeps the first limit bytes written to it and drops the
// rest, so a chatty or hostile git cannot grow ferry's memory.
type boundedBuffer struct {
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	keep := p
	if room := b.limit - b.buf.Len(); room < len(p) {
		b.truncated = true
		keep = p[:max(room, 0)]
	}
	b.buf.Write(keep)
	return len(p), nil
}

// String is what was kept, without a last line the limit cut: a secret
// cut in half would escape redaction.
func (b *boundedBuffer) String() string {
	s := b.buf.String()
	if b.truncated {
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			return s[:i+1]
		}
		return ""
	}
	return s
}
