package project

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// SystemNamespaces are the cluster's own namespaces, which the built-in
// default project keeps out of reach.
var systemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// Default is the project "default" when the server's configuration does
// not define one: any repository, source and known cluster, any namespace
// but the cluster's own and ferry's (ownNamespace, when known), and of
// cluster-scoped kinds only Namespace.
func Default(ownNamespace string) Project {
	p := Project{
		Name:                     DefaultName,
		Repos:                    []string{"*"},
		SourceRepos:              []string{"*"},
		Destinations:             []Destination{{Server: "*", Name: "*", Namespace: "*"}},
		ClusterResourceWhitelist: []GroupKind{{Group: "", Kind: "Namespace"}},
		Source:                   "built-in",
	}
	deny := append([]string{}, systemNamespaces...)
	if ownNamespace != "" {
		deny = append(deny, ownNamespace)
	}
	for _, ns := range deny {
		p.Destinations = append(p.Destinations, Destination{Server: "*", Name: "*", Namespace: "!" + ns})
	}
	return p
}

// cronParser reads sync window schedules: five fields, as Argo CD's.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports the first thing wrong with the project, naming it.
func (p Project) Validate() error {
	if p.Name == "" {
		return fmt.Errorf("project without a name (%s)", p.where())
	}
	if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
		return fmt.Errorf("project %q (%s): name: %s", p.Name, p.where(), strings.Join(errs, "; "))
	}
	for i, w := range p.SyncWindows {
		if _, err := w.compile(); err != nil {
			return fmt.Errorf("project %q (%s): syncWindows[%d]: %w", p.Name, p.where(), i, err)
		}
	}
	return nil
}

func (p Project) where() string {
	if p.Source == "" {
		return "server configuration"
	}
	return p.Source
}

// window is a SyncWindow ready to evaluate.
type window struct {
	SyncWindow
	schedule cron.Schedule
	duration time.Duration
	loc      *time.Location
}

func (w SyncWindow) compile() (window, error) {
	out := window{SyncWindow: w, loc: time.UTC}
	if w.Kind != "allow" && w.Kind != "deny" {
		return out, fmt.Errorf("kind %q: want allow or deny", w.Kind)
	}
	var err error
	if out.schedule, err = cronParser.Parse(w.Schedule); err != nil {
		return out, fmt.Errorf("schedule %q: %w", w.Schedule, err)
	}
	if out.duration, err = time.ParseDuration(w.Duration); err != nil || out.duration <= 0 {
		return out, fmt.Errorf("duration %q: want a positive duration such as 1h or 30m", w.Duration)
	}
	if w.TimeZone != "" {
		if out.loc, err = time.LoadLocation(w.TimeZone); err != nil {
			return out, fmt.Errorf("timeZone %q: %w", w.TimeZone, err)
		}
	}
	return out, nil
}

// Catalog is the server's projects, by name.
type Catalog struct {
	projects map[string]Project
}

// NewCatalog checks the server's projects and adds the built-in default
// when none is named "default".
func NewCatalog(projects []Project, ownNamespace string) (*Catalog, error) {
	c := &Catalog{projects: map[string]Project{}}
	for _, p := range projects {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if prev, ok := c.projects[p.Name]; ok {
			return nil, fmt.Errorf("project %q is defined twice (%s and %s)", p.Name, prev.where(), p.where())
		}
		c.projects[p.Name] = p
	}
	if _, ok := c.projects[DefaultName]; !ok {
		c.projects[DefaultName] = Default(ownNamespace)
	}
	return c, nil
}

// Names lists the catalog's projects, sorted.
func (c *Catalog) Names() []string {
	out := make([]string, 0, len(c.projects))
	for n := range c.projects {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// For is project name ("" is default) as it applies to repo ("owner/name"):
// the server's project, narrowed by the repository's AppProject of the same
// name among narrowing. A repository's project the server does not define
// narrows the server's default project.
func (c *Catalog) For(repo, name string, narrowing []Project) (Effective, error) {
	if name == "" {
		name = DefaultName
	}
	var own *Project
	for i := range narrowing {
		if narrowing[i].Name == name {
			own = &narrowing[i]
			break
		}
	}
	server, ok := c.projects[name]
	if !ok && own != nil {
		server, ok = c.projects[DefaultName]
	}
	if !ok {
		return Effective{}, fmt.Errorf("project %q is not defined (the server's configuration defines: %s)", name, strings.Join(c.Names(), ", "))
	}
	if !anyMatch(server.Repos, strings.ToLower(repo)) {
		return Effective{}, fmt.Errorf("repository %s may not use project %q: the server's configuration grants it to %s", repo, name, grantees(server.Repos))
	}
	e := Effective{Name: name, Layers: []Project{server}}
	if own != nil {
		e.Layers = append(e.Layers, *own)
	}
	return e, nil
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if match(strings.ToLower(p), s) {
			return true
		}
	}
	return false
}

func grantees(repos []string) string {
	if len(repos) == 0 {
		return "no repository"
	}
	return strings.Join(repos, ", ")
}
