package environment_test

import (
	"fmt"
	"maps"
	"math/rand"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
)

// repoGen generates small repositories in which Kustomize overlays, Helm
// charts and plain directories share files through file and directory
// symlinks (chains, links into shared directories, links in templates/),
// and edits them the way a pull request might. Files map paths to content;
// a value starting with symlinkPrefix is a link. No entry lies under
// another entry, so every map is a valid tree.
type repoGen struct {
	r     *rand.Rand
	files map[string]string
	n     int // for unique object names and values
}

func (g *repoGen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s-%d", prefix, g.n)
}

func (g *repoGen) configMap(prefix string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: %q\n", g.name(prefix), g.name("v"))
}

func (g *repoGen) link(p, target string) {
	rel, err := filepath.Rel(path.Dir(p), target)
	if err != nil {
		panic(err)
	}
	g.files[p] = symlinkPrefix + filepath.ToSlash(rel)
}

// maybe is true with probability 1/n.
func (g *repoGen) maybe(n int) bool { return g.r.Intn(n) == 0 }

func (g *repoGen) pick(paths []string) string { return paths[g.r.Intn(len(paths))] }

// generate lays out a repository and returns its environments.
func (g *repoGen) generate() []environment.Environment {
	for i := range 3 {
		g.files[fmt.Sprintf("shared/cm-%d.yaml", i)] = g.configMap("shared")
		g.files[fmt.Sprintf("shared/tpl/t-%d.yaml", i)] = g.configMap("tpl")
	}
	g.files["shared/values.yaml"] = fmt.Sprintf("v: %q\n", g.name("v"))
	g.link("shared/current.yaml", "shared/cm-0.yaml") // a chain: links lead to links
	g.link("hop", "shared/tpl")
	if g.maybe(2) {
		g.link("shared/tpl/t-link.yaml", g.pick([]string{"shared/cm-1.yaml", "shared/current.yaml"}))
	}
	g.files["base/kustomization.yaml"] = kustomizationHeader + "resources: [b.yaml]\n"
	g.files["base/b.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata:\n  v: \"base\"\n"
	g.files["lib/Chart.yaml"] = "apiVersion: v2\nname: lib\nversion: 1.0.0\n"
	g.link("lib/templates/l.yaml", g.pick([]string{"shared/cm-2.yaml", "shared/current.yaml"}))

	var envs []environment.Environment
	for i := range 2 {
		envs = append(envs, g.overlay(fmt.Sprintf("overlays/o%d", i)))
		envs = append(envs, g.chart(fmt.Sprintf("charts/c%d", i)))
		envs = append(envs, g.plain(fmt.Sprintf("plain/p%d", i)))
	}
	envs = append(envs, g.linkedChart("charts/linked"))
	if g.maybe(3) {
		// At the root, ../../base leaves the repository unless resolved
		// from where the overlay really is, as kustomize does.
		g.link("o-link", "overlays/o0")
		envs = append(envs, environment.Environment{Name: "o-link", Path: "o-link", Type: environment.Kustomize})
	}
	return envs
}

// linkedChart is a chart environment whose directory is a link to a shared
// chart with a file:// dependency on ../lib, which Helm resolves from the
// link's path (a sibling lib of dir), not from where the link leads.
func (g *repoGen) linkedChart(dir string) environment.Environment {
	g.files["shared/chart/Chart.yaml"] = "apiVersion: v2\nname: shared\nversion: 1.0.0\n" +
		"dependencies:\n  - name: lib\n    version: 1.0.0\n    repository: file://../lib\n"
	g.files["shared/chart/templates/s.yaml"] = g.configMap("chart")
	sibling := path.Join(path.Dir(dir), "lib")
	if g.maybe(2) {
		g.link(sibling, "lib")
	} else {
		g.files[sibling+"/Chart.yaml"] = "apiVersion: v2\nname: lib\nversion: 1.0.0\n"
		g.files[sibling+"/templates/own.yaml"] = g.configMap("sibling")
	}
	g.link(dir, "shared/chart")
	return environment.Environment{Name: strings.ReplaceAll(dir, "/", "-"), Path: dir, Type: environment.Helm}
}

// overlay is a Kustomize overlay on the shared base (reached directly or
// through a directory link), with a resource and a generator source that
// may be links. kustomize refuses files whose real path leaves the
// overlay, so most file links stay inside it; some do not.
func (g *repoGen) overlay(dir string) environment.Environment {
	base := "../../base"
	if g.maybe(2) {
		g.link(dir+"/base", "base")
		base = "base"
	}
	g.files[dir+"/kustomization.yaml"] = kustomizationHeader + "resources: [" + base + ", r.yaml]\n" +
		"configMapGenerator:\n  - name: gen\n    files: [data.txt]\n"
	g.files[dir+"/local/r.yaml"] = g.configMap("local")
	g.files[dir+"/local/data.txt"] = g.name("data") + "\n"
	switch g.r.Intn(8) {
	case 0, 1:
		g.files[dir+"/r.yaml"] = g.configMap("res")
	case 2, 3, 4:
		g.link(dir+"/r.yaml", dir+"/local/r.yaml")
	case 5, 6: // a chain inside the overlay
		g.link(dir+"/current.yaml", dir+"/local/r.yaml")
		g.link(dir+"/r.yaml", dir+"/current.yaml")
	default: // refused by kustomize: the render fails
		g.link(dir+"/r.yaml", g.pick([]string{"shared/cm-1.yaml", "shared/current.yaml"}))
	}
	if g.maybe(2) {
		g.link(dir+"/data.txt", dir+"/local/data.txt")
	} else {
		g.files[dir+"/data.txt"] = g.name("data") + "\n"
	}
	if g.maybe(2) {
		g.files[dir+"/kustomization.yaml"] += "patches:\n  - path: patch.yaml\n"
		g.files[dir+"/local/patch.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\ndata:\n  v: %q\n", g.name("patched"))
		g.link(dir+"/patch.yaml", dir+"/local/patch.yaml")
	}
	return environment.Environment{Name: strings.ReplaceAll(dir, "/", "-"), Path: dir, Type: environment.Kustomize}
}

// chart is a Helm chart whose templates/ is a real directory holding
// templates and links to shared files, or a link (maybe through "hop") to
// the shared templates; its values.yaml may be a link too.
func (g *repoGen) chart(dir string) environment.Environment {
	name := path.Base(dir)
	g.files[dir+"/Chart.yaml"] = "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n"
	if g.maybe(2) {
		g.link(dir+"/values.yaml", "shared/values.yaml")
	} else {
		g.files[dir+"/values.yaml"] = fmt.Sprintf("v: %q\n", g.name("v"))
	}
	switch g.r.Intn(3) {
	case 0:
		g.link(dir+"/templates", g.pick([]string{"hop", "shared/tpl"}))
	default:
		g.files[dir+"/templates/own.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + g.name("own") + "\ndata:\n  v: {{ .Values.v | quote }}\n"
		g.link(dir+"/templates/shared.yaml", g.pick([]string{"shared/cm-0.yaml", "shared/cm-1.yaml", "shared/current.yaml"}))
		if g.maybe(2) {
			g.link(dir+"/templates/more", g.pick([]string{"hop", "shared/tpl"}))
		}
	}
	if g.maybe(3) {
		g.link(dir+"/charts/lib", "lib") // a vendored subchart
	}
	env := environment.Environment{Name: strings.ReplaceAll(dir, "/", "-"), Path: dir, Type: environment.Helm}
	if g.maybe(2) {
		g.link(dir+"/extra.yaml", "shared/values.yaml")
		env.Helm = &environment.HelmSource{ValueFiles: []string{g.pick([]string{"extra.yaml", "/shared/values.yaml"})}}
	}
	return env
}

// plain is a directory source with its own files and links to shared files
// and directories, or itself a link to a shared directory.
func (g *repoGen) plain(dir string) environment.Environment {
	if g.maybe(3) {
		g.link(dir, g.pick([]string{"hop", "shared/tpl"}))
		return environment.Environment{Name: strings.ReplaceAll(dir, "/", "-"), Path: dir, Type: environment.Directory}
	}
	g.files[dir+"/own.yaml"] = g.configMap("plain")
	g.link(dir+"/shared.yaml", g.pick([]string{"shared/cm-2.yaml", "shared/current.yaml"}))
	if g.maybe(2) {
		g.link(dir+"/sub", "shared/tpl")
	}
	return environment.Environment{Name: strings.ReplaceAll(dir, "/", "-"), Path: dir, Type: environment.Directory}
}

var valueRE = regexp.MustCompile(`v: "[^"]*"`)

// edit applies one random change: a file's content, a file added or
// deleted, a link retargeted or added, a file replaced by a link. It
// returns a description for failure messages.
func (g *repoGen) edit() string {
	paths := g.paths()
	var links, plain []string
	for _, p := range paths {
		if strings.HasPrefix(g.files[p], symlinkPrefix) {
			links = append(links, p)
		} else if valueRE.MatchString(g.files[p]) {
			plain = append(plain, p)
		}
	}
	switch op := g.r.Intn(6); {
	case op == 0 && len(plain) > 0:
		p := g.pick(plain)
		g.files[p] = valueRE.ReplaceAllString(g.files[p], fmt.Sprintf("v: %q", g.name("changed")))
		return "change " + p
	case op == 1:
		p := g.freePath(g.pick(g.dirs()), ".yaml")
		g.files[p] = g.configMap("added")
		return "add " + p
	case op == 2:
		p := g.pick(paths)
		delete(g.files, p)
		return "delete " + p
	case op == 3 && len(links) > 0:
		p := g.pick(links)
		return g.retarget(p)
	case op == 4:
		p := g.freePath(g.pick(g.dirs()), g.pick([]string{".yaml", ""}))
		return g.retarget(p)
	case op == 5 && len(plain) > 0:
		return "replace by a link: " + g.retarget(g.pick(plain))
	}
	return g.edit()
}

// retarget makes p a link to a random file or directory, to nothing, or to
// itself through another link (a loop).
func (g *repoGen) retarget(p string) string {
	var target string
	switch g.r.Intn(8) {
	case 0:
		target = "nowhere/" + g.name("gone")
	case 1:
		g.files[p] = symlinkPrefix + path.Base(p) // a loop of one
		return "loop " + p
	case 2, 3, 4:
		target = g.pick(append(g.dirs(), "."))
	default:
		target = g.pick(g.paths())
	}
	if target == p || strings.HasPrefix(target, p+"/") {
		target = "nowhere/" + g.name("self")
	}
	g.link(p, target)
	return "link " + p + " -> " + target
}

// freePath returns a new path in dir that is neither an entry nor under one.
func (g *repoGen) freePath(dir, ext string) string {
	return path.Join(dir, g.name("new")+ext)
}

func (g *repoGen) paths() []string { return slices.Sorted(maps.Keys(g.files)) }

// dirs are the real directories (the parents of entries), root excluded.
func (g *repoGen) dirs() []string {
	set := map[string]bool{}
	for p := range g.files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			set[d] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func (g *repoGen) clone() *repoGen {
	return &repoGen{r: g.r, files: maps.Clone(g.files), n: g.n}
}
