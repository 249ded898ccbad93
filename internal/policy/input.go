package policy

import (
	"sort"
	"time"

	"github.com/ferry-gitops/ferry/internal/config"
	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/secrets"
)

// Input is the document policies see as `input`. policies/README.md
// documents it field by field; keep the two in step.
type Input struct {
	PullRequest PullRequest `json:"pull_request"`
	// Reviews holds the latest review of each reviewer.
	Reviews      []Review      `json:"reviews"`
	ChangedFiles []string      `json:"changed_files"`
	Environments []Environment `json:"environments"`
	// SecretFindings are the findings on lines the pull request adds;
	// findings in renders are on their environment.
	SecretFindings []SecretFinding `json:"secret_findings"`
	Config         Config          `json:"config"`
}

// PullRequest describes the change.
type PullRequest struct {
	Number int    `json:"number"`
	Author string `json:"author"`
	// AuthorPermission is the author's permission on the repository:
	// admin, maintain, write, triage, read or none.
	AuthorPermission string   `json:"author_permission"`
	Base             Ref      `json:"base"`
	Head             Ref      `json:"head"`
	Draft            bool     `json:"draft"`
	Labels           []string `json:"labels"`
}

// Ref is a branch and the commit it pointed at.
type Ref struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

// Review states, as GitHub names them.
const (
	Approved         = "APPROVED"
	ChangesRequested = "CHANGES_REQUESTED"
	Commented        = "COMMENTED"
	Dismissed        = "DISMISSED"
)

// Review is one reviewer's latest review.
type Review struct {
	User  string `json:"user"`
	State string `json:"state"`
	// Permission is the reviewer's permission on the repository now:
	// admin, maintain, write, triage, read or none.
	Permission string `json:"permission"`
	// Teams are the slugs of the reviewer's teams in the repository's organization.
	Teams []string `json:"teams"`
	// OnHead is true when the review was given on the pull request's current head commit.
	OnHead      bool      `json:"on_head"`
	SubmittedAt time.Time `json:"submitted_at"`
}

// Environment is one environment the pull request touches.
type Environment struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Cluster is the destination cluster's name, else its server URL.
	Cluster string `json:"cluster"`
	// Server and ClusterName are the destination cluster's server URL and
	// name, each as known: EnvironmentFrom sets what the destination gives,
	// the caller fills in the other from the server's cluster list.
	Server      string `json:"server"`
	ClusterName string `json:"cluster_name"`
	// Project is the Argo CD project the environment deploys in; "default"
	// when its definition names none.
	Project string `json:"project"`
	// Status is the preview's: changed, unchanged, error or external.
	Status  string `json:"status"`
	Added   int    `json:"added"`
	Changed int    `json:"changed"`
	Removed int    `json:"removed"`
	// Kinds lists the kinds of the added, changed and removed resources.
	Kinds Kinds `json:"kinds"`
	// Objects are the added, changed and removed resources, in the
	// preview's order.
	Objects        []Object        `json:"objects"`
	SecretFindings []SecretFinding `json:"secret_findings"`
	// ProjectViolations are what the environment's project does not
	// permit. The caller fills them in; EnvironmentFrom leaves them empty.
	ProjectViolations []ProjectViolation `json:"project_violations"`
}

// Object is one resource an environment adds, changes or removes.
type Object struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Change is added, changed or removed.
	Change string `json:"change"`
}

// ProjectViolation is an object, or the environment's destination itself,
// that the environment's project does not permit.
type ProjectViolation struct {
	// Resource is the object as group/Kind/namespace/name (empty parts left
	// out), "" when the environment itself is refused.
	Resource string `json:"resource"`
	// File and Line are where to fix it: the object's source file, or the
	// environment's definition; "" and 0 when unknown.
	File string `json:"file"`
	Line int    `json:"line"`
	// Reason says what the project refuses, e.g. "ClusterRoleBinding is not
	// permitted in project default".
	Reason string `json:"reason"`
}

// Kinds are resource kinds by change, each sorted and without repeats.
type Kinds struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
}

// SecretFinding is a secret finding as policies see it: where, never what.
type SecretFinding struct {
	Rule string `json:"rule"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Resource is the rendered object a finding is in, "" for added lines.
	Resource string `json:"resource"`
}

// defaultProject is the Argo CD project of an environment that names none
// (project.DefaultName).
const defaultProject = "default"

// Config is the part of .ferry.yaml (from the base branch) policies read.
type Config struct {
	// Approvals is nil (null) when .ferry.yaml does not set policy.approvals,
	// so the default policy applies its own rule.
	Approvals []ApprovalRule `json:"approvals"`
}

// ApprovalRule is one entry of policy.approvals.
type ApprovalRule struct {
	Match string   `json:"match"`
	Count int      `json:"count"`
	Teams []string `json:"teams"`
}

// ConfigFrom turns .ferry.yaml's policy section into the input's config.
func ConfigFrom(c config.PolicyConfig) Config {
	if c.Approvals == nil {
		return Config{}
	}
	out := Config{Approvals: make([]ApprovalRule, len(c.Approvals))}
	for i, r := range c.Approvals {
		out.Approvals[i] = ApprovalRule{Match: r.Match, Count: r.Count, Teams: r.Teams}
	}
	return out
}

// Findings turns scanner findings into the input's form.
func Findings(fs []secrets.Finding) []SecretFinding {
	out := make([]SecretFinding, len(fs))
	for i, f := range fs {
		out[i] = SecretFinding{Rule: f.RuleID, File: f.File, Line: f.Line, Resource: f.Resource}
	}
	return out
}

// EnvironmentFrom describes a previewed environment; the caller adds its
// rendered secret findings, its project violations and the half of its
// cluster (name or server) the destination does not give. Only touched
// environments belong in an Input.
func EnvironmentFrom(r preview.EnvironmentResult) Environment {
	env := Environment{
		Name:        r.Name,
		Namespace:   r.Destination.Namespace,
		Cluster:     r.Destination.Name,
		Server:      r.Destination.Server,
		ClusterName: r.Destination.Name,
		Project:     r.Env.Project,
		Status:      string(r.Status),
		Added:       r.Counts.Added,
		Changed:     r.Counts.Changed,
		Removed:     r.Counts.Removed,
		Objects:     []Object{},
	}
	if env.Cluster == "" {
		env.Cluster = r.Destination.Server
	}
	if env.Project == "" {
		env.Project = defaultProject
	}
	kinds := map[diff.ChangeType]map[string]bool{diff.Added: {}, diff.Changed: {}, diff.Removed: {}}
	for _, c := range r.Resources {
		m, ok := kinds[c.Change]
		if !ok {
			continue
		}
		m[c.Kind] = true
		env.Objects = append(env.Objects, Object{Group: c.Group, Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Change: string(c.Change)})
	}
	env.Kinds = Kinds{Added: sorted(kinds[diff.Added]), Changed: sorted(kinds[diff.Changed]), Removed: sorted(kinds[diff.Removed])}
	return env
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// normalized returns a copy with nil lists made empty, so a policy can
// iterate and count any list without guarding against null. Config's
// approvals stay nil: null there means "not set".
func (in Input) normalized() Input {
	in.PullRequest.Labels = nonNil(in.PullRequest.Labels)
	in.ChangedFiles = nonNil(in.ChangedFiles)
	in.SecretFindings = nonNil(in.SecretFindings)
	in.Reviews = append([]Review{}, in.Reviews...)
	for i := range in.Reviews {
		in.Reviews[i].Teams = nonNil(in.Reviews[i].Teams)
	}
	in.Environments = append([]Environment{}, in.Environments...)
	for i := range in.Environments {
		e := &in.Environments[i]
		e.SecretFindings = nonNil(e.SecretFindings)
		e.Objects = nonNil(e.Objects)
		e.ProjectViolations = nonNil(e.ProjectViolations)
		e.Kinds = Kinds{Added: nonNil(e.Kinds.Added), Changed: nonNil(e.Kinds.Changed), Removed: nonNil(e.Kinds.Removed)}
	}
	if in.Config.Approvals != nil {
		rules := make([]ApprovalRule, len(in.Config.Approvals))
		for i, r := range in.Config.Approvals {
			r.Teams = nonNil(r.Teams)
			rules[i] = r
		}
		in.Config.Approvals = rules
	}
	return in
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
