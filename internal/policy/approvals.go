package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Why an approval does not count.
const (
	IgnoredAuthor     = "author"     // the pull request's author approving their own change
	IgnoredPermission = "permission" // the reviewer cannot write to the repository
	IgnoredTeam       = "team"       // the requirement names teams the reviewer is in none of
)

// EnvironmentStatus is how far the reviews go towards one requirement.
type EnvironmentStatus struct {
	Environment string   `json:"environment"`
	Needed      int      `json:"needed"`
	Teams       []string `json:"teams,omitempty"`
	// Have lists the reviewers whose approval counts, sorted.
	Have    []string `json:"have"`
	Missing int      `json:"missing"`
	// Stale lists reviewers who approved an earlier head: their approval
	// would count if given again on the current one.
	Stale []string `json:"stale,omitempty"`
	// Ignored lists approvals that cannot count, with the reason.
	Ignored []IgnoredApproval `json:"ignored,omitempty"`
}

// IgnoredApproval is an approval that does not count towards a requirement.
type IgnoredApproval struct {
	User string `json:"user"`
	// Reason is IgnoredAuthor, IgnoredPermission or IgnoredTeam.
	Reason string `json:"reason"`
	// Permission is the reviewer's, for IgnoredPermission.
	Permission string `json:"permission,omitempty"`
}

// writePermissions may approve a deployment: they can push the change anyway.
var writePermissions = map[string]bool{"admin": true, "maintain": true, "write": true}

// latestReviews keeps each reviewer's deciding review, as GitHub counts
// them: the latest by submission time, where a comment does not replace
// an earlier approval or change request. Callers usually pass one review
// per reviewer already; this guards against a list that has more.
func latestReviews(rs []Review) []Review {
	sorted := append([]Review(nil), rs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SubmittedAt.Before(sorted[j].SubmittedAt) })
	idx := map[string]int{}
	var out []Review
	for _, r := range sorted {
		key := strings.ToLower(r.User)
		i, seen := idx[key]
		switch {
		case !seen:
			idx[key] = len(out)
			out = append(out, r)
		case r.State != Commented || out[i].State == Commented:
			out[i] = r
		}
	}
	return out
}

// satisfy counts, for each requirement, the approvals that meet it: state
// APPROVED, given on the current head, by someone other than the author,
// with write access, and in one of the requirement's teams if it has any.
func satisfy(reqs []Requirement, in Input) []EnvironmentStatus {
	reviews := latestReviews(in.Reviews)
	out := make([]EnvironmentStatus, 0, len(reqs))
	for _, req := range reqs {
		st := EnvironmentStatus{Environment: req.Environment, Needed: req.Count, Teams: req.Teams, Have: []string{}}
		for _, r := range reviews {
			if r.State != Approved {
				continue
			}
			switch {
			case strings.EqualFold(r.User, in.PullRequest.Author):
				st.Ignored = append(st.Ignored, IgnoredApproval{User: r.User, Reason: IgnoredAuthor})
			case !writePermissions[strings.ToLower(r.Permission)]:
				st.Ignored = append(st.Ignored, IgnoredApproval{User: r.User, Reason: IgnoredPermission, Permission: r.Permission})
			case len(req.Teams) > 0 && !inAnyTeam(r.Teams, req.Teams):
				st.Ignored = append(st.Ignored, IgnoredApproval{User: r.User, Reason: IgnoredTeam})
			case !r.OnHead:
				st.Stale = append(st.Stale, r.User)
			default:
				st.Have = append(st.Have, r.User)
			}
		}
		sort.Strings(st.Have)
		sort.Strings(st.Stale)
		sort.Slice(st.Ignored, func(i, j int) bool { return st.Ignored[i].User < st.Ignored[j].User })
		st.Missing = max(0, st.Needed-len(st.Have))
		out = append(out, st)
	}
	return out
}

func inAnyTeam(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// summarize says what blocks the change, or that nothing does.
func summarize(d *Decision) string {
	var lines []string
	for _, msg := range d.Deny {
		lines = append(lines, "denied: "+msg)
	}
	for _, s := range d.Status {
		if s.Missing > 0 {
			lines = append(lines, missingSentence(s))
		}
	}
	if len(lines) > 0 {
		return strings.Join(lines, "\n")
	}
	var met []string
	for _, s := range d.Status {
		if s.Needed > 0 {
			met = append(met, fmt.Sprintf("%s has %d of %d approvals", s.Environment, len(s.Have), s.Needed))
		}
	}
	if len(met) == 0 {
		return "allowed: no approvals needed"
	}
	return "allowed: " + strings.Join(met, "; ")
}

// missingSentence: "production needs 1 more approval from a user with
// write access; stale approval from @x doesn't count (given before the
// latest push)".
func missingSentence(s EnvironmentStatus) string {
	who := "a user with write access"
	if len(s.Teams) > 0 {
		who = "a member of team " + orList(s.Teams, "") + " with write access"
	}
	parts := []string{fmt.Sprintf("%s needs %d more %s from %s", s.Environment, s.Missing, plural(s.Missing, "approval", "approvals"), who)}
	if n := len(s.Have); n > 0 {
		parts[0] += fmt.Sprintf(" (has %d of %d)", n, s.Needed)
	}
	if n := len(s.Stale); n > 0 {
		parts = append(parts, fmt.Sprintf("stale %s from %s %s count (given before the latest push)",
			plural(n, "approval", "approvals"), andList(s.Stale, "@"), plural(n, "doesn't", "don't")))
	}
	for _, ig := range s.Ignored {
		switch ig.Reason {
		case IgnoredAuthor:
			parts = append(parts, fmt.Sprintf("@%s's own approval doesn't count (author)", ig.User))
		case IgnoredPermission:
			perm := ig.Permission
			if perm == "" {
				perm = "no"
			}
			parts = append(parts, fmt.Sprintf("@%s's approval doesn't count (%s access, write needed)", ig.User, perm))
		case IgnoredTeam:
			parts = append(parts, fmt.Sprintf("@%s's approval doesn't count (not in team %s)", ig.User, orList(s.Teams, "")))
		}
	}
	return strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func andList(items []string, prefix string) string { return list(items, prefix, "and") }
func orList(items []string, prefix string) string  { return list(items, prefix, "or") }

func list(items []string, prefix, conj string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = prefix + it
	}
	if len(q) <= 2 {
		return strings.Join(q, " "+conj+" ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}
