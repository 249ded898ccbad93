package report

import (
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/markdown"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

// maxFindings caps the secret findings listed; the rest are counted.
const maxFindings = 20

// Policy is the policy state per environment, for the sticky comment and
// the ferry/policy check run: the decision, then the secret findings
// behind it. It names rules, files, lines and reviewers, never a secret.
func Policy(d *policy.Decision, findings []secrets.Finding) string {
	var b strings.Builder
	if d.Allowed {
		b.WriteString("#### Policy: ✅ ready to merge\n\n")
	} else {
		b.WriteString("#### Policy: ❌ blocked\n\n")
	}
	if len(d.Status) > 0 {
		b.WriteString("| Environment | Approvals | Missing |\n| :-- | :-- | --: |\n")
		for _, s := range d.Status {
			b.WriteString(approvalRow(s))
		}
		b.WriteString("\n")
	}
	// The summary names environments, rules and reviewers: text for people,
	// each line escaped.
	for _, line := range strings.Split(d.Summary, "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString(markdown.Escape(line) + "\n\n")
		}
	}
	if len(findings) > 0 {
		fmt.Fprintf(&b, "%d secret finding(s) (values are never shown):\n\n", len(findings))
		for i, f := range findings {
			if i == maxFindings {
				fmt.Fprintf(&b, "- … and %d more\n", len(findings)-maxFindings)
				break
			}
			loc := markdown.Code(fmt.Sprintf("%s:%d", f.File, f.Line))
			if f.Resource != "" {
				loc = markdown.Code(f.Resource) + " (" + markdown.Escape(strings.TrimPrefix(f.Source, "rendered:")) + ")"
			}
			fmt.Fprintf(&b, "- %s at %s, fingerprint %s\n", markdown.Code(f.RuleID), loc, markdown.Code(f.Fingerprint))
		}
	}
	return b.String()
}

// approvalRow is an environment's row of the approvals table. Approvers
// are GitHub logins: they are mentioned.
func approvalRow(s policy.EnvironmentStatus) string {
	have := "none"
	if len(s.Have) > 0 {
		names := make([]string, len(s.Have))
		for i, u := range s.Have {
			names[i] = markdown.Mention(u)
		}
		have = strings.ReplaceAll(strings.Join(names, ", "), "|", `\|`)
	}
	need := fmt.Sprintf("%d of %d", len(s.Have), s.Needed)
	if len(s.Teams) > 0 {
		need += " from " + strings.ReplaceAll(codeList(s.Teams), "|", `\|`)
	}
	return fmt.Sprintf("| %s | %s (%s) | %d |\n", markdown.CodeCell(s.Environment), need, have, s.Missing)
}

// PolicyCheck is the ferry/policy check run's conclusion and output: the
// Policy markdown, an annotation on each secret finding's file, and one at
// each object (or definition) an environment's project refuses.
func PolicyCheck(d *policy.Decision, findings []secrets.Finding, envs []policy.Environment) (string, github.CheckOutput) {
	conclusion, title := "success", "Ready to merge"
	if !d.Allowed {
		conclusion, title = "failure", "Blocked"
	}
	out := github.CheckOutput{Title: title, Summary: Policy(d, findings)}
	for _, e := range envs {
		for _, v := range e.ProjectViolations {
			if v.File == "" {
				continue
			}
			out.Annotations = append(out.Annotations, github.Annotation{
				Path: v.File, StartLine: max(v.Line, 1), Level: "failure",
				Title:   fmt.Sprintf("Not permitted in project %s", e.Project),
				Message: violationMessage(e.Name, v),
			})
		}
	}
	for _, f := range findings {
		if f.File == "" {
			continue
		}
		line := f.Line
		where := ""
		if f.Resource != "" {
			// A rendered finding's line is in the rendered object, not the file.
			line, where = 1, " in rendered "+f.Resource
		}
		out.Annotations = append(out.Annotations, github.Annotation{
			Path: f.File, StartLine: max(line, 1), Level: "failure",
			Title:   "Secret: " + f.RuleID,
			Message: findingMessage(f, where),
		})
	}
	return conclusion, out
}

// findingMessage says what a finding is (where: " in rendered <object>"
// for a rendered one) and how to resolve it, as plain text.
func findingMessage(f secrets.Finding, where string) string {
	if f.RuleID == secrets.RuleIncomplete {
		return f.Description + ". Split the change, or skip generated paths with secrets.allow.paths in the base branch's .ferry.yaml."
	}
	return fmt.Sprintf("%s%s (fingerprint %s). Remove it, or allow the fingerprint in the base branch's .ferry.yaml secrets.allow.", f.RuleID, where, f.Fingerprint)
}

// violationMessage says, as plain text, what env's project refuses and how
// to resolve it.
func violationMessage(env string, v policy.ProjectViolation) string {
	what := v.Reason
	if v.Resource != "" {
		what = v.Resource + ": " + v.Reason
	}
	return fmt.Sprintf("%s (environment %s). ferry will not sync it: change the manifest, or have the server's project (ferry serve --config) permit it.", what, env)
}
