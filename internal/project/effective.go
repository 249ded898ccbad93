package project

import (
	"fmt"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Effective is a project as it applies to one repository: the server's
// project, then the repository's AppProject of that name, if any. An
// action is permitted only when every layer permits it.
type Effective struct {
	Name   string
	Layers []Project
}

// by names the layer that refused, for messages: the server's project is
// the project; a repository's narrowing one says where it is.
func (e Effective) by(i int) string {
	if i == 0 {
		return fmt.Sprintf("project %s", e.Name)
	}
	return fmt.Sprintf("project %s (narrowed by %s)", e.Name, e.Layers[i].where())
}

// PermitsSource checks that one of urls (the same repository, spelt
// differently) is among every layer's sourceRepos.
func (e Effective) PermitsSource(urls ...string) error {
	for i, l := range e.Layers {
		if !l.permitsSource(urls) {
			return fmt.Errorf("source %s is not permitted in %s", first(urls), e.by(i))
		}
	}
	return nil
}

func (p Project) permitsSource(urls []string) bool {
	for _, u := range urls {
		u = normalizeURL(u)
		if u == "" {
			continue
		}
		allowed, denied := false, false
		for _, pat := range p.SourceRepos {
			if isDeny(pat) {
				denied = denied || match(normalizeURL(pat[1:]), u)
			} else {
				allowed = allowed || match(normalizeURL(pat), u)
			}
		}
		if allowed && !denied {
			return true
		}
	}
	return false
}

func first(urls []string) string {
	for _, u := range urls {
		if u != "" {
			return u
		}
	}
	return "(none)"
}

// PermitsDestination checks cluster c and namespace against every layer's
// destinations, with Argo CD's rule: some entry matches both, and no deny
// entry ("!" pattern) names either.
func (e Effective) PermitsDestination(c Cluster, namespace string) error {
	for i, l := range e.Layers {
		if !l.permitsDestination(c, namespace) {
			if namespace == "" {
				return fmt.Errorf("destination %s is not permitted in %s", describe(c), e.by(i))
			}
			return fmt.Errorf("namespace %s is not permitted in %s", namespace, e.by(i))
		}
	}
	return nil
}

func (p Project) permitsDestination(c Cluster, namespace string) bool {
	matched := false
	for _, d := range p.Destinations {
		server := c.Server != "" && d.Server != "" && matchNegatable(d.Server, c.Server)
		name := c.Name != "" && d.Name != "" && matchNegatable(d.Name, c.Name)
		ns := matchNegatable(d.Namespace, namespace)
		switch {
		case (server || name) && ns:
			matched = true
		case isDeny(d.Server) && !server, isDeny(d.Name) && !name, isDeny(d.Namespace) && !ns:
			return false
		}
	}
	return matched
}

func describe(c Cluster) string {
	switch {
	case c.Name != "" && c.Server != "":
		return fmt.Sprintf("%s (%s)", c.Server, c.Name)
	case c.Name != "":
		return c.Name
	}
	return c.Server
}

// PermitsKind checks a kind against every layer's resource lists:
// cluster-scoped kinds need a whitelist entry, namespaced kinds need one
// only when there is a whitelist, and a blacklist entry denies either.
func (e Effective) PermitsKind(gk GroupKind, namespaced bool) error {
	for i, l := range e.Layers {
		white, black := l.ClusterResourceWhitelist, l.ClusterResourceBlacklist
		if namespaced {
			white, black = l.NamespaceResourceWhitelist, l.NamespaceResourceBlacklist
		}
		listed := matchKind(white, gk)
		if (!namespaced && !listed) || (namespaced && len(white) > 0 && !listed) || matchKind(black, gk) {
			return fmt.Errorf("%s is not permitted in %s", gk.Kind, e.by(i))
		}
	}
	return nil
}

func matchKind(list []GroupKind, gk GroupKind) bool {
	for _, p := range list {
		if match(p.Group, gk.Group) && match(p.Kind, gk.Kind) {
			return true
		}
	}
	return false
}

// Permits checks one object by its effective key (the namespace a sync
// gives it filled in): its kind, its namespace, and for a Namespace the
// namespace it is (creating or relabelling kube-system is touching it).
func (e Effective) Permits(c Cluster, k manifest.Key, namespaced bool) error {
	if err := e.PermitsKind(GroupKind{Group: k.Group, Kind: k.Kind}, namespaced); err != nil {
		return err
	}
	switch {
	case namespaced:
		return e.PermitsDestination(c, k.Namespace)
	case k.Group == "" && k.Kind == "Namespace":
		return e.PermitsDestination(c, k.Name)
	}
	return nil
}

// Violation is an object its project does not permit.
type Violation struct {
	Key    manifest.Key
	Source string
	Reason string
}

// Objects checks a render bound for c: each object with the namespace a
// sync would give it (its own, else destNamespace, else "default"). A
// kind scope does not know is taken as namespaced.
func (e Effective) Objects(c Cluster, destNamespace string, objs []manifest.Object, scope Scope) []Violation {
	var out []Violation
	for _, o := range objs {
		k := o.Key
		namespaced, known := scope(k.Group, k.Kind)
		if !known {
			namespaced = true
		}
		switch {
		case !namespaced:
			k.Namespace = ""
		case k.Namespace == "" && destNamespace != "":
			k.Namespace = destNamespace
		case k.Namespace == "":
			k.Namespace = "default"
		}
		if err := e.Permits(c, k, namespaced); err != nil {
			out = append(out, Violation{Key: k, Source: o.Source, Reason: err.Error()})
		}
	}
	return out
}
