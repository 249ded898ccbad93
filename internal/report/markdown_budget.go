package report

import (
	"fmt"
	"strings"
)

// The comment within MarkdownOptions.MaxChars: whole, or with the resource
// diffs that do not fit named (or counted) instead.

// full renders the whole comment, giving up as soon as it grows past limit
// (when limit > 0).
func (m *comment) full(limit int) (string, bool) {
	over := func(n int) bool { return limit > 0 && n > limit }
	var sb strings.Builder
	sb.WriteString(m.head(true, 0))
	for _, s := range m.sections {
		sb.WriteString(s.open)
		for _, b := range s.blocks {
			sb.WriteString(b.text())
			if over(sb.Len()) {
				return "", false
			}
		}
		sb.WriteString(s.close)
	}
	sb.WriteString(m.tail(true, true))
	out := strings.TrimRight(sb.String(), "\n") + "\n"
	if over(len(out)) {
		return "", false
	}
	return out, true
}

// truncated fits the comment into budget bytes. It tries the richest layout
// first and drops parts until one fits; each layout is complete Markdown.
func (m *comment) truncated(budget int) string {
	// What the omitted-resources notice needs at the least, counting as if
	// everything were omitted so the real notice can only be shorter.
	minNotice := len(m.notice(m.allBlocks(), 0))
	for _, tl := range []struct{ skipped, footer bool }{{true, true}, {false, true}, {false, false}} {
		tail := m.tail(tl.skipped, tl.footer)
		room := budget - len(tail) - minNotice
		if room <= 0 {
			continue
		}
		head := m.head(true, 0)
		if len(head) > room {
			head = m.head(false, room)
		}
		if head == "" || len(head) > room {
			continue
		}
		return m.fill(head, tail, budget, room)
	}
	return m.fallback(budget)
}

// fallback is the longest of the minimal comments that fits budget, for
// when not even the summary table does.
func (m *comment) fallback(budget int) string {
	for _, s := range m.minimal() {
		if len(s) <= budget {
			return s
		}
	}
	return ""
}

// fill appends whole resource blocks to head while they fit in room, then
// names the rest in a notice that fits what is left of budget.
func (m *comment) fill(head, tail string, budget, room int) string {
	var sb strings.Builder
	sb.Grow(budget)
	sb.WriteString(head)
	var omitted []block
	stopped := false
	for _, s := range m.sections {
		if stopped {
			omitted = append(omitted, s.blocks...)
			continue
		}
		// A section is opened only once its first block fits: an empty one
		// says nothing, and its room is better spent on the notice.
		opened := false
		for i, b := range s.blocks {
			text := b.text()
			need := len(text) + len(s.close)
			if !opened {
				need += len(s.open)
			}
			if sb.Len()+need > room {
				stopped = true
				omitted = append(omitted, s.blocks[i:]...)
				break
			}
			if !opened {
				sb.WriteString(s.open)
				opened = true
			}
			sb.WriteString(text)
		}
		if opened {
			sb.WriteString(s.close)
		}
	}
	if len(omitted) > 0 {
		sb.WriteString(m.notice(omitted, budget-sb.Len()-len(tail)))
	}
	sb.WriteString(tail)
	out := strings.TrimRight(sb.String(), "\n") + "\n"
	if len(out) > budget {
		// Unreachable by construction; the guarantee is worth a check.
		return m.fallback(budget)
	}
	return out
}

func (m *comment) allBlocks() []block {
	var all []block
	for _, s := range m.sections {
		all = append(all, s.blocks...)
	}
	return all
}

// notice names omitted blocks by environment within room bytes, falling
// back to a count when not even one name fits.
func (m *comment) notice(omitted []block, room int) string {
	var resources, errs int
	for _, b := range omitted {
		if b.error {
			errs++
		} else {
			resources++
		}
	}
	var what []string
	if resources > 0 {
		what = append(what, plural(resources, "more resource"))
	}
	if errs > 0 {
		what = append(what, plural(errs, "more render error"))
	}
	lead := "… and " + strings.Join(what, " and ")
	end := "; " + m.opts.FullDiffHint + ".\n\n"
	minimal := lead + end

	var list strings.Builder
	prevEnv := ""
	for i, b := range omitted {
		var piece string
		switch {
		case i == 0:
			piece = code(b.env) + ": " + b.label
		case b.env != prevEnv:
			piece = "; " + code(b.env) + ": " + b.label
		default:
			piece = ", " + b.label
		}
		more := ""
		if left := len(omitted) - i - 1; left > 0 {
			more = fmt.Sprintf(", and %d more", left)
		}
		if len(lead)+2+list.Len()+len(piece)+len(more)+len(end) > room {
			if i == 0 {
				return minimal
			}
			// The previous round made sure this suffix fits.
			fmt.Fprintf(&list, ", and %d more", len(omitted)-i)
			break
		}
		list.WriteString(piece)
		prevEnv = b.env
	}
	return lead + ": " + list.String() + end
}
