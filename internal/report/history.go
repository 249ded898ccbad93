package report

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/markdown"
)

// History renders an environment's syncs, newest first, as a table for a
// pull request comment. Who merged is shown without mentioning them:
// anyone may ask for the table.
func History(env string, syncs []history.Sync) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Sync history of %s\n\n", markdown.Code(env))
	if len(syncs) == 0 {
		b.WriteString("No syncs yet.\n")
		return b.String()
	}
	b.WriteString("| # | Started (UTC) | Revision | PR | Result | Trigger | By |\n| --: | :-- | :-- | :-- | :-- | :-- | :-- |\n")
	for _, s := range syncs {
		pr := ""
		if s.PR != 0 {
			pr = fmt.Sprintf("#%d", s.PR)
		}
		by := ""
		if s.Merger != "" {
			by = markdown.Escape("@" + s.Merger)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", s.ID, s.Started.UTC().Format("2006-01-02 15:04:05"), markdown.CodeCell(shortRevision(s.Revision)), pr,
			markdown.Escape(s.Result), markdown.Escape(s.Trigger), by)
	}
	return b.String()
}
