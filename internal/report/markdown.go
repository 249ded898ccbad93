package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/markdown"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// GitHubCommentLimit is the most characters GitHub accepts in a comment.
const GitHubCommentLimit = 65536

// DefaultFullDiffHint tells readers of a truncated comment where the rest is.
const DefaultFullDiffHint = "the full diff is in the `ferry/diff` check run"

const (
	// compactEnvironments is how many environments the table lists in
	// full; beyond it unchanged and external ones fold into lists.
	compactEnvironments = 10
	// maxErrorBytes caps one render error: a Helm failure can print pages,
	// and the first lines are the ones that say what went wrong.
	maxErrorBytes = 4000
	// maxBaseErrorBytes caps the base's render error, which only explains
	// why everything shows as added.
	maxBaseErrorBytes = 1000
	// maxSkipped caps the skipped-files list.
	maxSkipped = 20
)

// MarkdownOptions shapes the pull request comment.
type MarkdownOptions struct {
	// MaxChars is a hard limit on the comment's length in bytes (which is
	// never less than GitHub's count of characters); 0 means unlimited.
	MaxChars int
	// Title heads the comment, e.g. "ferry diff"; empty leaves it out.
	Title string
	// Footer is appended as is, e.g. the render time and head SHA.
	Footer string
	// Marker goes first, e.g. "<!-- ferry:diff -->", so the comment can be
	// found and updated later; may be empty.
	Marker string
	// FullDiffHint says where the full diff is when the comment had to be
	// shortened, as a clause without a final period; empty means
	// DefaultFullDiffHint.
	FullDiffHint string
}

// Markdown renders r as a pull request comment: a summary table, then one
// collapsed section per changed or failed environment with a diff per
// resource. When opts.MaxChars is set the comment never exceeds it: whole
// resource diffs are kept in order while they fit and the rest are named
// (or counted) instead; no block is ever cut open.
func Markdown(r *preview.Result, opts MarkdownOptions) string {
	if r == nil {
		r = &preview.Result{}
	}
	m := newMarkdown(r, opts)
	if full, ok := m.full(opts.MaxChars); ok {
		return full
	}
	return m.truncated(opts.MaxChars)
}

// block is one resource diff (or one render error) in an environment
// section. Its text is rendered only when it is about to be written: a
// preview of thousands of resources mostly ends up in the omitted list.
type block struct {
	env    string
	label  string // how the omitted-list names it
	error  bool
	change *diff.Change
	errMsg string
	// hooks heads the environment's first sync hook: hooks are listed
	// apart from the resources they guard.
	hooks bool
}

func (b block) text() string {
	if b.error {
		return markdown.Fenced("", b.errMsg)
	}
	if b.hooks {
		return hooksHeading + resourceBlock(*b.change)
	}
	return resourceBlock(*b.change)
}

// section is one environment's collapsible part of the comment.
type section struct {
	open, close string
	blocks      []block
}

type comment struct {
	r        *preview.Result
	opts     MarkdownOptions
	t        totals
	sections []section
	blocks   int // resource blocks over all sections
	errors   int // error blocks over all sections
}

func newMarkdown(r *preview.Result, opts MarkdownOptions) *comment {
	if opts.FullDiffHint == "" {
		opts.FullDiffHint = DefaultFullDiffHint
	}
	m := &comment{r: r, opts: opts, t: summarize(r)}
	for i := range r.Environments {
		e := &r.Environments[i]
		if s, ok := m.section(e); ok {
			m.sections = append(m.sections, s)
		}
	}
	// One environment to look at: show it without a click.
	if len(m.sections) == 1 {
		m.sections[0].open = strings.Replace(m.sections[0].open, "<details>", "<details open>", 1)
	}
	for _, s := range m.sections {
		for _, b := range s.blocks {
			if b.error {
				m.errors++
			} else {
				m.blocks++
			}
		}
	}
	return m
}

func (m *comment) section(e *preview.EnvironmentResult) (section, bool) {
	name := "<b>" + markdown.HTML(e.Name) + "</b>"
	switch e.Status {
	case preview.Error:
		return section{
			open:  "<details><summary>" + name + " — ❌ render failed</summary>\n\n",
			close: "</details>\n\n",
			blocks: []block{{
				env:    e.Name,
				label:  "render error",
				error:  true,
				errMsg: capText(errorText(e), maxErrorBytes),
			}},
		}, true
	case preview.Changed:
		changes := shownChanges(e)
		if len(changes) == 0 {
			return section{}, false
		}
		summary := name + " — " + countsText(e.Counts.Added, e.Counts.Changed, e.Counts.Removed)
		switch e.Lifecycle {
		case "added":
			summary += " (new environment)"
		case "removed":
			summary += " (environment removed)"
		}
		s := section{
			open:  "<details><summary>" + summary + "</summary>\n\n",
			close: "</details>\n\n",
		}
		if e.BaseError != "" {
			// Without this, a broken target branch reads as a pull request
			// that adds every resource.
			s.open += "⚠️ The base revision failed to render, so every resource is compared against nothing:\n\n" +
				markdown.Fenced("", capText(e.BaseError, maxBaseErrorBytes))
		}
		for i := range changes {
			first := changes[i].Hook != "" && (i == 0 || changes[i-1].Hook == "")
			s.blocks = append(s.blocks, block{change: &changes[i], env: e.Name, label: markdown.Escape(resourceLabel(changes[i].Key)), hooks: first})
		}
		return s, true
	}
	return section{}, false
}

func resourceBlock(c diff.Change) string {
	var sb strings.Builder
	sb.WriteString("**")
	sb.WriteString(changeSymbol(c.Change))
	sb.WriteString(" ")
	sb.WriteString(markdown.Escape(resourceLabel(c.Key)))
	sb.WriteString("**")
	sb.WriteString(hookNote(c))
	sb.WriteString("\n\n")
	if c.SecretKeys != nil {
		if keys := secretKeysText(c.SecretKeys, code); keys != "" {
			sb.WriteString("Secret " + keys + " (values hidden)\n\n")
		} else {
			sb.WriteString("Secret values unchanged (values hidden)\n\n")
		}
	}
	if c.Diff != "" {
		sb.WriteString(markdown.Fenced("diff", c.Diff))
	}
	return sb.String()
}

// head is the title, the one-line summary and the summary table. With all
// set the table lists every environment (unchanged ones folded away when
// there are many); otherwise it lists changed and failed environments while
// they fit in limit bytes and counts the rest. It returns "" when not even
// that fits.
func (m *comment) head(all bool, limit int) string {
	var sb strings.Builder
	sb.WriteString(m.title())
	sb.WriteString(summaryLine(m.t))
	sb.WriteString("\n\n")

	envs := m.r.Environments
	compact := len(envs) > compactEnvironments
	var rows []string
	var unchanged, external []string
	for i := range envs {
		e := &envs[i]
		if all && compact && e.Status == preview.Unchanged {
			unchanged = append(unchanged, code(e.Name))
			continue
		}
		if all && compact && e.Status == preview.External {
			external = append(external, code(e.Name))
			continue
		}
		if !all && e.Status != preview.Changed && e.Status != preview.Error {
			continue
		}
		rows = append(rows, tableRow(e))
	}
	const tableHead = "| Environment | Added | Changed | Removed | Status |\n| :-- | --: | --: | --: | :-- |\n"

	if all {
		if len(rows) > 0 {
			sb.WriteString(tableHead)
			for _, r := range rows {
				sb.WriteString(r)
			}
			sb.WriteString("\n")
		}
		foldedList(&sb, "✅", unchanged, "unchanged environment", "")
		foldedList(&sb, "↗️", external, "external environment", " (not rendered)")
		return sb.String()
	}

	// The line counting what the table leaves out, sized for the worst case.
	moreLine := func(n int) string {
		return fmt.Sprintf("_… and %s not listed._\n\n", plural(n, "more environment"))
	}
	reserve := len(moreLine(len(envs)))
	if sb.Len()+reserve > limit {
		return ""
	}
	listed := 0
	if len(rows) > 0 && sb.Len()+len(tableHead)+len(rows[0])+1+reserve <= limit {
		sb.WriteString(tableHead)
		for _, r := range rows {
			if sb.Len()+len(r)+1+reserve > limit {
				break
			}
			sb.WriteString(r)
			listed++
		}
		sb.WriteString("\n")
	}
	if left := len(envs) - listed; left > 0 {
		sb.WriteString(moreLine(left))
	}
	return sb.String()
}

func (m *comment) title() string {
	var sb strings.Builder
	if m.opts.Marker != "" {
		sb.WriteString(m.opts.Marker)
		sb.WriteString("\n")
	}
	if m.opts.Title != "" {
		sb.WriteString("### ")
		sb.WriteString(markdown.Escape(m.opts.Title))
		sb.WriteString("\n\n")
	}
	return sb.String()
}

// minimal are ever shorter comments for budgets too small for the table.
func (m *comment) minimal() []string {
	t := m.title()
	return []string{
		t + summaryLine(m.t) + "; " + m.opts.FullDiffHint + ".\n",
		t + summaryLine(m.t) + "\n",
		strings.TrimRight(t, "\n") + "\n",
		m.opts.Marker + "\n",
		"",
	}
}

func tableRow(e *preview.EnvironmentResult) string {
	name := strings.ReplaceAll(code(e.Name), "|", `\|`)
	switch e.Lifecycle {
	case "added":
		name += " (new)"
	case "removed":
		name += " (removed)"
	}
	name += externalSourcesNote(e.Env)
	counts := fmt.Sprintf("%d | %d | %d", e.Counts.Added, e.Counts.Changed, e.Counts.Removed)
	var status string
	switch e.Status {
	case preview.Changed:
		status = "🔶 changed"
		if e.BaseError != "" {
			status += " (base failed to render)"
		}
	case preview.Unchanged:
		status = "✅ unchanged"
		if !e.Touched {
			status = "✅ not affected"
		}
	case preview.Error:
		status = "❌ error"
		counts = "– | – | –"
	case preview.External:
		status = "↗️ external"
		counts = "– | – | –"
	default:
		status = markdown.Escape(string(e.Status))
	}
	return "| " + name + " | " + counts + " | " + status + " |\n"
}

// foldedList writes names as a collapsed list: many environments that need
// no attention should not push the ones that do off the screen.
func foldedList(sb *strings.Builder, emoji string, names []string, noun, note string) {
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(sb, "<details><summary>%s %s%s</summary>\n\n", emoji, plural(len(names), noun), note)
	sb.WriteString(strings.Join(names, ", "))
	sb.WriteString("\n\n</details>\n\n")
}

// tail is the skipped-files list and the caller's footer.
func (m *comment) tail(skipped, footer bool) string {
	var sb strings.Builder
	if skipped && len(m.r.Skipped) > 0 {
		fmt.Fprintf(&sb, "<details><summary>⚠️ %s skipped</summary>\n\n", plural(len(m.r.Skipped), "file"))
		for i, s := range m.r.Skipped {
			if i == maxSkipped {
				fmt.Fprintf(&sb, "- … and %d more\n", len(m.r.Skipped)-maxSkipped)
				break
			}
			sb.WriteString("- ")
			sb.WriteString(markdown.Escape(capText(s, 300)))
			sb.WriteString("\n")
		}
		sb.WriteString("\n</details>\n\n")
	}
	if footer && m.opts.Footer != "" {
		sb.WriteString(strings.TrimRight(m.opts.Footer, "\n"))
		sb.WriteString("\n")
	}
	return sb.String()
}

// code is a name as a code span; a name should not be empty, but an empty
// one is named so.
func code(s string) string {
	if strings.TrimSpace(markdown.Clean(s)) == "" {
		return "(unnamed)"
	}
	return markdown.Code(s)
}

// capText shortens s to at most n bytes on a line or rune boundary.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "\n… (truncated)"
	cut := n - len(more)
	if i := strings.LastIndexByte(s[:cut], '\n'); i > cut/2 {
		cut = i
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
