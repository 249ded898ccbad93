package report

import (
	"fmt"
	"time"
)

// PreviewFooter is the last line of a preview's comment and check run:
// what was rendered (head against its merge base with the base branch)
// and how long it took.
func PreviewFooter(head, base string, elapsed time.Duration) string {
	return fmt.Sprintf("ferry rendered `%s` (merge base `%s`) in %s.", shortRevision(head), shortRevision(base), elapsed.Round(time.Millisecond))
}
