package job

import (
	"context"
	"fmt"
	"sort"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/github"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/policy"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/secrets"
	"github.com/ferry-gitops/ferry/internal/work"
	"github.com/ferry-gitops/ferry/policies"
)

// PolicyCheckName is the required status check that blocks unsafe merges.
const PolicyCheckName = "ferry/policy"

// verdict is a pull request's policy outcome and the secret findings behind it.
type verdict struct {
	decision *policy.Decision
	findings []secrets.Finding
	// environments are the touched environments as the policies saw them.
	environments []policy.Environment
}

// evaluate scans what the pull request adds for secrets and judges it with
// the policies of the base branch's tip: never with anything the pull
// request itself changes.
func (p *Previews) evaluate(ctx context.Context, gh *github.Client, repo github.Repo, pr work.Preview, info *github.PullRequest, snap *snapshot) (*verdict, error) {
	v, in, err := p.scan(ctx, pr.Repo, snap)
	if err != nil || v.decision != nil {
		return v, err
	}
	in.PullRequest = pullRequestInput(info, snap.res.Base)
	if err := reviewInput(ctx, gh, repo, info, snap.cfg.Policy, &in); err != nil {
		return nil, err
	}
	v.decision = judge(ctx, snap, in)
	return v, nil
}

// scan is the part of a judgement that looks at the change alone: the
// secrets its lines and renders add, and its touched environments with
// what their projects refuse. A scanner that can't be set up fails the
// verdict closed (v.decision set).
func (p *Previews) scan(ctx context.Context, repo work.Repo, snap *snapshot) (*verdict, policy.Input, error) {
	v := &verdict{}
	scanner, err := p.SecretRules.Scanner(allowlist(snap.cfg.Secrets.Allow), secrets.WithRenderInputs(renderInputs(snap.res)))
	if err != nil {
		v.decision = policy.FailClosed(fmt.Errorf(".ferry.yaml secrets: %w", err))
		return v, policy.Input{}, nil
	}
	added, err := scanner.ScanDiff(ctx, snap.base, snap.head, snap.res.ChangedFiles)
	if err != nil {
		return nil, policy.Input{}, err
	}
	in := policy.Input{ChangedFiles: snap.res.ChangedFiles, SecretFindings: policy.Findings(added), Config: policy.ConfigFrom(snap.cfg.Policy)}
	in.Environments, v.findings = p.environments(repo, snap, scanner, added)
	v.environments = in.Environments
	for _, u := range scanner.Unscanned() {
		p.Logger.Warn("secrets: object not scanned", "env", u.Env, "resource", u.Resource, "error_type", u.ErrorType)
	}
	for _, f := range v.findings {
		p.Logger.Debug("secret found", "rule", f.RuleID, "file", f.File, "line", f.Line, "resource", f.Resource, "fingerprint", f.Fingerprint, "source", f.Source)
	}
	return v, in, nil
}

func pullRequestInput(info *github.PullRequest, base string) policy.PullRequest {
	return policy.PullRequest{
		Number: info.Number, Author: info.Author, Draft: info.Draft, Labels: info.Labels,
		Base: policy.Ref{Ref: info.BaseRef, SHA: base},
		Head: policy.Ref{Ref: "", SHA: info.HeadSHA},
	}
}

// reviewInput adds the author's permission and each reviewer's latest
// review, as it counts on the pull request's current head, to in.
func reviewInput(ctx context.Context, gh *github.Client, repo github.Repo, info *github.PullRequest, cfg config.PolicyConfig, in *policy.Input) error {
	var err error
	if in.PullRequest.AuthorPermission, err = gh.Permission(ctx, repo, info.Author); err != nil {
		return err
	}
	reviews, err := gh.LatestReviews(ctx, repo, info.Number)
	if err != nil {
		return err
	}
	teams := requiredTeams(cfg)
	for _, r := range reviews {
		perm, err := gh.Permission(ctx, repo, r.User)
		if err != nil {
			return err
		}
		rv := policy.Review{User: r.User, State: r.State, Permission: perm, OnHead: r.CommitID == info.HeadSHA, SubmittedAt: r.SubmittedAt}
		// Only the teams a rule asks for are looked up: one call per team
		// and reviewer, not a listing of the whole organization.
		for _, team := range teams {
			ok, err := gh.TeamMember(ctx, repo.Owner, team, r.User)
			if err != nil {
				return err
			}
			if ok {
				rv.Teams = append(rv.Teams, team)
			}
		}
		in.Reviews = append(in.Reviews, rv)
	}
	return nil
}

// judge runs the default policies and the default branch's own on in;
// anything that goes wrong fails closed.
func judge(ctx context.Context, snap *snapshot, in policy.Input) *policy.Decision {
	engine, err := policy.NewEngine(ctx, policies.Defaults(), snap.judge)
	if err != nil {
		return policy.FailClosed(err)
	}
	d, _ := engine.Evaluate(ctx, in) // on error the decision fails closed
	return d
}

// environments describe the touched environments to the policies: what
// changes, the secrets their renders add (appended to findings), and what
// their projects would refuse. Where each deploys and under which project
// is the head's definition, what merging would make it; the projects
// themselves are the server's, narrowed by the default branch's.
func (p *Previews) environments(repo work.Repo, snap *snapshot, scanner *secrets.Scanner, findings []secrets.Finding) ([]policy.Environment, []secrets.Finding) {
	var out []policy.Environment
	for _, e := range snap.res.Environments {
		if !e.Touched {
			continue
		}
		env := policy.EnvironmentFrom(e)
		rendered := scanner.ScanManifests(e.Name, introduced(e))
		env.SecretFindings = policy.Findings(rendered)
		findings = append(findings, rendered...)
		if e.Lifecycle != "removed" {
			b := p.Projects.bind(repo, snap.defined, e.Env)
			env.Server, env.ClusterName = b.cluster.Server, b.cluster.Name
			env.ProjectViolations = b.violations(repo, snap.head, e.Head)
		}
		out = append(out, env)
	}
	return out, findings
}

// renderInputs are the files the head's renders read.
func renderInputs(res *preview.Result) []string {
	var out []string
	for _, e := range res.Environments {
		out = append(out, e.Files...)
	}
	return out
}

// introduced is what a change adds or changes in an environment's render:
// an existing object the change does not touch is not this change's finding.
func introduced(e preview.EnvironmentResult) []manifest.Object {
	keep := map[manifest.Key]bool{}
	for _, c := range e.Resources {
		if c.Change == diff.Added || c.Change == diff.Changed {
			keep[c.Key] = true
		}
	}
	var out []manifest.Object
	for _, o := range e.Head {
		if keep[o.Key] {
			out = append(out, o)
		}
	}
	return out
}

func allowlist(a config.SecretsAllow) secrets.Allowlist {
	return secrets.Allowlist{Paths: a.Paths, Fingerprints: a.Fingerprints, Regexes: a.Regexes}
}

func requiredTeams(c config.PolicyConfig) []string {
	set := map[string]bool{}
	for _, r := range c.Approvals {
		for _, t := range r.Teams {
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
