package secrets

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"
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
	var found []report.Finding
	for _, r := range results {
		if r.Secret == "" {
			continue
		}
		if strings.Contains(text, r.Secret) {
			found = append(found, r)
			continue
		}
		if r.StartLine >= 0 && r.StartLine < len(lines) {
			lines[r.StartLine] = maskEncoded(lines[r.StartLine], r.StartColumn, r.RuleID)
		}
	}
	text = strings.Join(lines, "\n")
	slices.SortFunc(found, byNaming)
	for _, r := range found {
		// A token longer than its rule's pattern is masked to its end.
		re := regexp.MustCompile(regexp.QuoteMeta(r.Secret) + tokenTail)
		text = re.ReplaceAllStringFunc(text, func(v string) string { return masked(v, r.RuleID) })
	}
	return text
}

// byNaming orders findings so that a value two rules match is named by the
// specific one (github-pat rather than generic-api-key), longer values
// first, and the same way every time.
func byNaming(a, b report.Finding) int {
	ga, gb := strings.HasPrefix(a.RuleID, "generic"), strings.HasPrefix(b.RuleID, "generic")
	switch {
	case ga != gb && ga:
		return 1
	case ga != gb:
		return -1
	case len(a.Secret) != len(b.Secret):
		return len(b.Secret) - len(a.Secret)
	}
	return strings.Compare(a.RuleID+a.Secret, b.RuleID+b.Secret)
}

// tokenTail is the rest of a token after what a rule matched.
const tokenTail = `[A-Za-z0-9_+/=-]*`

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
