package secrets

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	glregexp "github.com/zricethezav/gitleaks/v8/regexp"
)

// maxDecodeDepth is the gitleaks CLI's default: base64, hex and percent
// encoded text is decoded and scanned again, so a token inside a Secret's
// base64 data is still named by its own rule.
const maxDecodeDepth = 5

// replacedRules are gitleaks rules a structural rule here does better.
// kubernetes-secret-yaml is a regex for "kind: secret near data:" that
// cannot tell a SealedSecret's template or a placeholder from a value and
// reports the match, not the key; kubernetes-secret-in-git reads the YAML.
var replacedRules = []string{"kubernetes-secret-yaml"}

// Rules is gitleaks' default rule set, compiled: read-only once loaded,
// and shared by every Scanner made from it.
type Rules struct {
	cfg config.Config
}

// LoadRules compiles gitleaks' embedded default config. It uses a viper
// instance of its own: gitleaks' NewDetectorDefaultConfig goes through the
// process-wide viper, which is neither safe to share nor ours to change.
func LoadRules() (*Rules, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		return nil, fmt.Errorf("read gitleaks default config: %w", err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, fmt.Errorf("decode gitleaks default config: %w", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("compile gitleaks default config: %w", err)
	}
	for _, id := range replacedRules {
		delete(cfg.Rules, id)
		cfg.OrderedRules = slices.DeleteFunc(cfg.OrderedRules, func(r string) bool { return r == id })
	}
	return &Rules{cfg: cfg}, nil
}

// detector makes a gitleaks detector of the rules plus a global allowlist
// of secret regexes. The rules themselves are shared, never written.
func (r *Rules) detector(allowRegexes []string) (*detect.Detector, error) {
	cfg := r.cfg
	cfg.Allowlists = slices.Clone(r.cfg.Allowlists)
	if len(allowRegexes) > 0 {
		a := &config.Allowlist{Description: "ferry secrets.allow.regexes"}
		for _, re := range allowRegexes {
			c, err := compileGitleaksRegexp(re)
			if err != nil {
				return nil, fmt.Errorf("secrets allowlist regex %q: %w", re, err)
			}
			a.Regexes = append(a.Regexes, c)
		}
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("secrets allowlist: %w", err)
		}
		cfg.Allowlists = append(cfg.Allowlists, a)
	}
	d := detect.NewDetector(cfg)
	d.MaxDecodeDepth = maxDecodeDepth
	// Findings come back with the secret replaced by "REDACTED" in every
	// field, so the value does not outlive gitleaks' own loop.
	d.Redact = 100
	return d, nil
}

// compileGitleaksRegexp compiles with the regexp package gitleaks is built
// with (Go's, or RE2 under -tags gore2regex), which only offers MustCompile.
func compileGitleaksRegexp(re string) (c *glregexp.Regexp, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	return glregexp.MustCompile(re), nil
}

// fragment is a run of consecutive lines; startLine is the first one's number.
type fragment struct {
	text      string
	startLine int
}

// detect runs gitleaks over one fragment and keeps rule and position only.
func (s *Scanner) detect(file string, fr fragment) []hit {
	path := file
	if s.renderInputs[file] {
		path = "" // gitleaks skips some paths (*.bin); a render input reaches a cluster whatever its name
	}
	results := s.detector.DetectContext(context.Background(), detect.Fragment{
		Raw:       fr.text,
		FilePath:  path,
		StartLine: fr.startLine,
	})
	out := make([]hit, 0, len(results))
	for _, r := range results {
		col := r.StartColumn
		// gitleaks counts columns after the first line of a fragment from
		// the newline before the line, one too many.
		if r.StartLine > fr.startLine && col > 1 {
			col--
		}
		out = append(out, hit{rule: r.RuleID, description: r.Description, line: r.StartLine, column: col})
	}
	return out
}

// blocks groups added lines into runs of consecutive lines, so a multi-line
// match (a private key) is found while lines the change did not touch are
// not joined to it.
func blocks(lines []AddedLine) []fragment {
	var out []fragment
	var sb strings.Builder
	start, prev := 0, 0
	flush := func() {
		if sb.Len() > 0 || start > 0 {
			out = append(out, fragment{text: sb.String(), startLine: start})
		}
		sb.Reset()
	}
	for _, l := range lines {
		if start == 0 || l.Number != prev+1 {
			flush()
			start = l.Number
		} else {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.Text)
		prev = l.Number
	}
	flush()
	return out
}

// reassemble rebuilds a file from its added lines, blank where lines were
// not added, so line numbers stay those of the head file.
func reassemble(lines []AddedLine) []byte {
	var sb strings.Builder
	n := 1
	for _, l := range lines {
		for ; n < l.Number; n++ {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.Text)
		sb.WriteByte('\n')
		n++
	}
	return []byte(sb.String())
}
