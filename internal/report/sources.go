package report

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// externalSourcesNote is a short note for a multi-source environment with
// sources ferry does not render (another repository); "" without any.
func externalSourcesNote(env environment.Environment) string {
	switch n := len(env.ExternalSources); n {
	case 0:
		return ""
	case 1:
		return " (+1 external source, not rendered)"
	default:
		return fmt.Sprintf(" (+%d external sources, not rendered)", n)
	}
}

// externalSourcesText lists those sources, for the text report.
func externalSourcesText(env environment.Environment) string {
	if len(env.ExternalSources) == 0 {
		return ""
	}
	return "external sources, not rendered: " + strings.Join(env.ExternalSources, ", ")
}
