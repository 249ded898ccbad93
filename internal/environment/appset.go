package environment

import (
	"errors"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/ferry-gitops/ferry/internal/appset"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// FromApplicationSet marks an environment an ApplicationSet in Git
// generated; File and Line are the ApplicationSet's.
const FromApplicationSet Origin = "applicationset"

// scanApplicationSet expands one ApplicationSet of file and adds the
// Applications it generates as environments, each checked as an
// Application in Git is. The git generators read tree, the revision being
// discovered, so each side of a pull request sees its own directories and
// files. An ApplicationSet that cannot be expanded, generators ferry does
// not expand and generated Applications ferry cannot take are Skipped.
func scanApplicationSet(tree *repofs.Tree, file string, root *yamlv3.Node, opts DiscoverOptions, out *scanned) {
	name := nestedScalar(root, "metadata", "name")
	x, err := appset.Expand(tree, file, root, appset.Options{RepoURL: opts.RepoURL, Clusters: opts.Clusters, SameRepo: SameRepo})
	if err != nil {
		var ae *appset.Error
		if errors.As(err, &ae) {
			out.skip(file, "line %d: ApplicationSet %q generates nothing: %v", ae.Line, name, ae.Err)
		} else {
			out.skip(file, "line %d: ApplicationSet %q generates nothing: %v", root.Line, name, err)
		}
		return
	}
	for _, reason := range x.Skipped {
		// "line N: why" reads "line N: ApplicationSet "x": why".
		line, why, ok := strings.Cut(reason, ": ")
		if !ok || !strings.HasPrefix(line, "line ") {
			line, why = fmt.Sprintf("line %d", root.Line), reason
		}
		out.skip(file, "%s: ApplicationSet %q: %s", line, name, why)
	}
	for _, g := range x.Applications {
		env, reason := parseApplication(tree, file, g.Node, opts.RepoURL)
		if reason != "" {
			out.skip(file, "line %d: ApplicationSet %q, %s: %s", root.Line, name, g.From, reason)
			continue
		}
		env.Origin = FromApplicationSet
		env.Line = root.Line
		out.envs = append(out.envs, env)
	}
}
