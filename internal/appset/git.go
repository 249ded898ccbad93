package appset

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

type gitDoc struct {
	RepoURL         string            `yaml:"repoURL"`
	Revision        string            `yaml:"revision"`
	Directories     []gitItem         `yaml:"directories"`
	Files           []gitItem         `yaml:"files"`
	Values          map[string]string `yaml:"values"`
	PathParamPrefix string            `yaml:"pathParamPrefix"`
	Template        yamlv3.Node       `yaml:"template"`
}

// scanCost is how many paths matched against a generator's patterns
// count as one step: a matrix re-runs its second generator for every
// parameter set of its first.
const scanCost = 8

type gitItem struct {
	Path    string `yaml:"path"`
	Exclude bool   `yaml:"exclude"`
}

// git is the git generator over the tree being read. revision is not
// consulted: ferry expands each side of a pull request from its own tree.
func (x *expander) git(g *gitDoc, n *yamlv3.Node, where string) ([]map[string]any, string, error) {
	if x.opts.RepoURL != "" && g.RepoURL != "" && !x.opts.SameRepo(g.RepoURL, x.opts.RepoURL) {
		return nil, fmt.Sprintf("line %d: %s: the git generator reads %s, another repository; ferry reads only this one, so the Applications it generates are not discovered", n.Line, where, g.RepoURL), nil
	}
	switch {
	case len(g.Directories) > 0:
		sets, err := x.gitDirectories(g)
		return sets, "", err
	case len(g.Files) > 0:
		sets, err := x.gitFiles(g)
		return sets, "", err
	}
	return nil, "", fmt.Errorf("neither directories nor files is set")
}

// gitDirectories yields one parameter set per directory of the tree that
// an include pattern matches (path.Match, so "*" stops at "/") and no
// exclude pattern does: as in Argo CD an exclude wins whatever its place
// in the list; a malformed pattern matches nothing. Hidden directories
// and what is below them are left out, as Argo CD's repo server leaves
// them out.
func (x *expander) gitDirectories(g *gitDoc) ([]map[string]any, error) {
	if x.dirs == nil {
		x.dirs = directories(x.tree)
	}
	if err := x.budget.spend(len(x.dirs)/scanCost + 1); err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, dir := range x.dirs {
		include, exclude := false, false
		for _, d := range g.Directories {
			if ok, _ := path.Match(d.Path, dir); ok {
				if d.Exclude {
					exclude = true
				} else {
					include = true
				}
			}
		}
		if !include || exclude {
			continue
		}
		p := x.pathParams(g.PathParamPrefix, dir, "")
		if err := x.values(g.Values, p); err != nil {
			return nil, err
		}
		out = append(out, p)
		if len(out) > x.budget.lim.ParamSets {
			return nil, fmt.Errorf("%w: more than %d directories match", errLimit, x.budget.lim.ParamSets)
		}
	}
	return out, nil
}

// directories lists the tree's directories (those holding a file, at any
// depth), walk order: a directory, then what is inside it, siblings by
// name.
func directories(t Tree) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range t.Files() {
		for d := path.Dir(f); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, d)
		}
	}
	var visible []string
	for _, d := range out {
		if !hidden(d) {
			visible = append(visible, d)
		}
	}
	sort.Slice(visible, func(i, j int) bool {
		return slicesLess(strings.Split(visible[i], "/"), strings.Split(visible[j], "/"))
	})
	return visible
}

// hidden reports whether a path has a segment starting with ".".
func hidden(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, ".") {
			return true
		}
	}
	return false
}

func slicesLess(a, b []string) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// gitFiles yields a parameter set per file matched (a file holding a list,
// one per element), with the file's keys and the path parameters. Files
// match as git ls-files matches a pathspec, which Argo CD uses: "*" also
// matches "/", and a pattern naming a directory matches what is inside.
func (x *expander) gitFiles(g *gitDoc) ([]map[string]any, error) {
	if x.files == nil {
		x.files = x.tree.Files()
	}
	if err := x.budget.spend(len(x.files)/scanCost + 1); err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, f := range x.files {
		include, exclude := false, false
		for _, item := range g.Files {
			if pathspecMatch(item.Path, f) {
				if item.Exclude {
					exclude = true
				} else {
					include = true
				}
			}
		}
		if !include || exclude || x.tree.IsDir(f) {
			continue
		}
		sets, err := x.fileParams(g, f)
		if err != nil {
			return nil, err
		}
		out = append(out, sets...)
		if len(out) > x.budget.lim.ParamSets {
			return nil, fmt.Errorf("%w: more than %d parameter sets from files", errLimit, x.budget.lim.ParamSets)
		}
	}
	return out, nil
}

// fileParams reads one file of the files generator.
func (x *expander) fileParams(g *gitDoc, file string) ([]map[string]any, error) {
	data, err := x.tree.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if int64(len(data)) > x.budget.lim.FileSize {
		return nil, fmt.Errorf("%s: %w: %d bytes is over %d", file, errLimit, len(data), x.budget.lim.FileSize)
	}
	if err := x.budget.read(len(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	// A mapping (or an empty file) is one parameter set, a list one per
	// element, as Argo CD reads them.
	var objects []map[string]any
	one := map[string]any{}
	if err := yaml.Unmarshal(data, &one); err == nil {
		objects = []map[string]any{one}
	} else if err := yaml.Unmarshal(data, &objects); err != nil {
		return nil, fmt.Errorf("%s: unable to parse file: %w", file, err)
	}
	var out []map[string]any
	for _, obj := range objects {
		p := map[string]any{}
		if x.spec.GoTemplate {
			for k, v := range obj {
				p[k] = v
			}
		} else {
			flat := map[string]string{}
			flatten("", obj, flat)
			for k, v := range flat {
				p[k] = v
			}
		}
		for k, v := range x.pathParams(g.PathParamPrefix, path.Dir(file), path.Base(file)) {
			p[k] = v
		}
		if err := x.values(g.Values, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// pathParams are the path parameters of a directory (filename "") or of
// a file in dir.
func (x *expander) pathParams(prefix, dir, filename string) map[string]any {
	p := map[string]any{}
	base := path.Base(dir)
	if x.spec.GoTemplate {
		pp := map[string]any{"path": dir, "basename": base, "basenameNormalized": sanitizeName(base), "segments": strings.Split(dir, "/")}
		if filename != "" {
			pp["filename"], pp["filenameNormalized"] = filename, sanitizeName(filename)
		}
		if prefix != "" {
			p[prefix] = map[string]any{"path": pp}
		} else {
			p["path"] = pp
		}
		return p
	}
	name := "path"
	if prefix != "" {
		name = prefix + ".path"
	}
	p[name], p[name+".basename"], p[name+".basenameNormalized"] = dir, base, sanitizeName(base)
	if filename != "" {
		p[name+".filename"], p[name+".filenameNormalized"] = filename, sanitizeName(filename)
	}
	for i, s := range strings.Split(dir, "/") {
		if s != "" {
			p[name+"["+strconv.Itoa(i)+"]"] = s
		}
	}
	return p
}
