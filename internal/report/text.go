package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ferry-gitops/ferry/internal/preview"
)

// ANSI styles for the terminal view.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
)

// Text writes r for a terminal: a header per environment, the diff of each
// changed resource, and the summary last where it is still on screen. With
// color, diff lines are coloured like git's (+ green, - red, @@ cyan).
// Control characters from the manifests are shown escaped, never sent to
// the terminal.
func Text(w io.Writer, r *preview.Result, color bool) error {
	if r == nil {
		r = &preview.Result{}
	}
	p := &textPrinter{w: bufio.NewWriter(w), color: color, blankLast: true}
	for i := range r.Environments {
		p.environment(&r.Environments[i])
	}
	p.blank()
	for _, s := range r.Skipped {
		p.line(ansiBold, "skipped: "+s)
	}
	p.blank()
	p.line(ansiBold, summaryLine(summarize(r)))
	if p.err != nil {
		return fmt.Errorf("report: write text: %w", p.err)
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("report: write text: %w", err)
	}
	return nil
}

type textPrinter struct {
	w     *bufio.Writer
	color bool
	err   error
	// blankLast is set after an empty line, so sections are set apart by
	// exactly one.
	blankLast bool
}

func (p *textPrinter) blank() {
	if !p.blankLast {
		p.line("", "")
	}
}

func (p *textPrinter) environment(e *preview.EnvironmentResult) {
	var status string
	switch e.Status {
	case preview.Changed:
		status = "changed (" + countsText(e.Counts.Added, e.Counts.Changed, e.Counts.Removed) + ")"
	case preview.Unchanged:
		status = "unchanged"
		if !e.Touched {
			status = "not affected"
		}
	case preview.External:
		status = "external (not rendered)"
	default:
		status = string(e.Status)
	}
	switch e.Lifecycle {
	case "added":
		status += ", new environment"
	case "removed":
		status += ", environment removed"
	}
	p.line(ansiBold, e.Name+": "+status)
	if note := externalSourcesText(e.Env); note != "" {
		p.line("", "  "+note)
	}
	if e.BaseError != "" {
		p.line(ansiRed, "  base failed to render, compared against nothing: "+e.BaseError)
	}

	if e.Status == preview.Error {
		for _, l := range strings.Split(errorText(e), "\n") {
			p.line(ansiRed, "  "+l)
		}
		p.blank()
		return
	}
	changes := shownChanges(e)
	for _, c := range changes {
		p.blank()
		head := changeSymbol(c.Change) + " " + resourceLabel(c.Key) + hookNote(c)
		if c.SecretKeys != nil {
			if keys := secretKeysText(c.SecretKeys, func(s string) string { return s }); keys != "" {
				head += " (" + keys + "; values hidden)"
			} else {
				head += " (values unchanged, hidden)"
			}
		}
		p.line(ansiBold, head)
		for _, l := range strings.SplitAfter(c.Diff, "\n") {
			if l == "" {
				continue
			}
			l = strings.TrimSuffix(l, "\n")
			p.line(diffStyle(l), l)
		}
	}
	if len(changes) > 0 {
		p.blank()
	}
}

func diffStyle(l string) string {
	switch {
	case strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "):
		return ansiBold
	case strings.HasPrefix(l, "+"):
		return ansiGreen
	case strings.HasPrefix(l, "-"):
		return ansiRed
	case strings.HasPrefix(l, "@@"):
		return ansiCyan
	}
	return ""
}

// line writes one line, styled when colour is on.
func (p *textPrinter) line(style, s string) {
	if p.err != nil {
		return
	}
	s = sanitize(s)
	if p.color && style != "" && s != "" {
		s = style + s + ansiReset
	}
	_, p.err = p.w.WriteString(s + "\n")
	p.blankLast = s == ""
}

// sanitize escapes control characters (an ESC in a ConfigMap value must
// not recolour or retitle the reviewer's terminal) and invalid UTF-8.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if isControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				fmt.Fprintf(&sb, `\x%02x`, s[i])
				continue
			}
			sb.WriteRune(r)
		case isControl(r):
			if r < 0x100 {
				fmt.Fprintf(&sb, `\x%02x`, r)
			} else {
				fmt.Fprintf(&sb, `\u%04x`, r)
			}
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// isControl reports C0 and C1 controls other than tab, and the Unicode
// bidirectional overrides that can make a diff line read as something else.
func isControl(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
