package secrets

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/zricethezav/gitleaks/v8/detect"
)

// MaxMaskedText bounds what MaskText scans; longer text is replaced whole.
const MaxMaskedText = 1 << 20

// maskTimeout bounds one MaskText call; text not scanned in time is
// replaced whole, never shown unscanned.
const maskTimeout = 10 * time.Second

// Masker hides, in text meant for people (a diff, an error), every value a
// secret rule matches. It uses gitleaks' rules without any allowlist: an
// allowlisted finding does not fail a check, but its value is still not
// shown. It is safe for concurrent use.
type Masker struct {
	detector *detect.Detector
}

// Masker makes a masker of these rules.
func (r *Rules) Masker() (*Masker, error) {
	d, err := r.detector(nil)
	if err != nil {
		return nil, err
	}
	// The masker needs the value to find it in the text; it never leaves
	// MaskText.
	d.Redact = 0
	return &Masker{detector: d}, nil
}

// publicPrefixes are token prefixes that say what a token is and nothing of
// its value; a masked value keeps one.
var publicPrefixes = []string{"AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xapp-", "sk_live_", "rk_live_", "npm_", "pypi-", "AIza"}

// masked is what a value becomes: its public prefix, if it has one, and the
// rule that matched it, e.g. "AKIA… (redacted: aws-access-token)".
func masked(value, rule string) string {
	prefix := ""
	for _, p := range publicPrefixes {
		if strings.HasPrefix(value, p) {
			prefix = p
			break
		}
	}
	return prefix + "… (redacted: " + rule + ")"
}

// MaskText returns text with every matched value replaced. A value found
// only after decoding (base64, hex) is masked where it is encoded. Text
// over MaxMaskedText, or not scanned within the time limit, is replaced
// whole by a note saying so.
func (m *Masker) MaskText(text string) string {
	if m == nil || text == "" {
		return text
	}
	if len(text) > MaxMaskedText {
		return "(not shown: larger than ferry scans for secrets)\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), maskTimeout)
	defer cancel()
	results := m.detector.DetectContext(ctx, detect.Fragment{Raw: text})
	if ctx.Err() != nil {
		return "(not shown: scanning it for secrets took too long)\n"
	}
	lines := strings.Split(text, "\n")
	var replace []string
	for _, r := range results {
		if r.Secret == "" {
			continue
		}
		if strings.Contains(text, r.Secret) {
			replace = append(replace, r.Secret, masked(r.Secret, r.RuleID))
			continue
		}
		if r.StartLine >= 0 && r.StartLine < len(lines) {
			lines[r.StartLine] = maskEncoded(lines[r.StartLine], r.StartColumn, r.RuleID)
		}
	}
	text = strings.Join(lines, "\n")
	if len(replace) > 0 {
		text = strings.NewReplacer(replace...).Replace(text)
	}
	return text
}

var encodedRE = regexp.MustCompile(`[A-Za-z0-9+/=_%-]{8,}`)

// maskEncoded replaces, in one line, the encoded run around column (gitleaks'
// 1-based column, give or take one) in which a decoded secret was found.
func maskEncoded(line string, column int, rule string) string {
	for _, loc := range encodedRE.FindAllStringIndex(line, -1) {
		if column-2 <= loc[1] && column >= loc[0] {
			return line[:loc[0]] + "… (redacted, encoded: " + rule + ")" + line[loc[1]:]
		}
	}
	return line
}
