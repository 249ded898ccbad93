package diff

import (
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// Unified returns a unified diff of two texts (GNU diff -u format, with the
// given lines of context), or "" when they are equal.
//
// The line matching is go-udiff's LCS, which bounds its search so large,
// very different inputs stay fast at the price of a less minimal diff. The
// hunks are laid out here rather than by udiff.ToUnified because that one
// recounts lines from the start of the text for every edit, which is
// quadratic on the big ConfigMaps and CRDs renders are full of.
func Unified(fromLabel, toLabel, from, to string, context int) string {
	if from == to {
		return ""
	}
	a, b := splitLines(from), splitLines(to)
	edits := lcs.DiffLines(a, b)
	if len(edits) == 0 {
		return ""
	}
	context = max(context, 0)

	var sb strings.Builder
	sb.Grow(len(from)/4 + len(to)/4 + 64)
	sb.WriteString("--- ")
	sb.WriteString(fromLabel)
	sb.WriteString("\n+++ ")
	sb.WriteString(toLabel)
	sb.WriteByte('\n')

	for i := 0; i < len(edits); {
		// A hunk takes every following edit whose unchanged gap would be
		// covered by the context of both sides anyway.
		j := i + 1
		for j < len(edits) && edits[j].Start-edits[j-1].End <= 2*context {
			j++
		}
		first, last := edits[i], edits[j-1]
		aStart := max(first.Start-context, 0)
		aEnd := min(last.End+context, len(a))
		bStart := first.ReplStart - (first.Start - aStart)
		bEnd := last.ReplEnd + (aEnd - last.End)

		sb.WriteString("@@ -")
		writeRange(&sb, aStart, aEnd-aStart)
		sb.WriteString(" +")
		writeRange(&sb, bStart, bEnd-bStart)
		sb.WriteString(" @@\n")

		writeLines(&sb, ' ', a[aStart:first.Start])
		for k := i; k < j; k++ {
			e := edits[k]
			if k > i {
				writeLines(&sb, ' ', a[edits[k-1].End:e.Start])
			}
			writeLines(&sb, '-', a[e.Start:e.End])
			writeLines(&sb, '+', b[e.ReplStart:e.ReplEnd])
		}
		writeLines(&sb, ' ', a[last.End:aEnd])
		i = j
	}
	return sb.String()
}

// writeRange prints a hunk range the way GNU diff does: "l,n", just "l"
// when n is 1, and for an empty range the line before it ("0,0" at the top).
func writeRange(sb *strings.Builder, start, n int) {
	switch n {
	case 0:
		sb.WriteString(strconv.Itoa(start))
		sb.WriteString(",0")
	case 1:
		sb.WriteString(strconv.Itoa(start + 1))
	default:
		sb.WriteString(strconv.Itoa(start + 1))
		sb.WriteByte(',')
		sb.WriteString(strconv.Itoa(n))
	}
}

func writeLines(sb *strings.Builder, prefix byte, lines []string) {
	for _, l := range lines {
		sb.WriteByte(prefix)
		sb.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// splitLines cuts s after each newline, keeping the newlines so a missing
// one at the end is a difference like any other.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := make([]string, 0, strings.Count(s, "\n")+1)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}
