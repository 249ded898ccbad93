package appset

import (
	"errors"
	"io/fs"
	"sort"
	"strings"
	"testing"
)

// memTree is an in-memory Tree.
type memTree map[string]string

func (m memTree) Files() []string {
	out := make([]string, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (m memTree) ReadFile(name string) ([]byte, error) {
	if s, ok := m[name]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

func (m memTree) IsDir(name string) bool {
	for f := range m {
		if strings.HasPrefix(f, name+"/") {
			return true
		}
	}
	return false
}

// appsetFile is where the tests' ApplicationSets live.
const appsetFile = "appsets/test.yaml"

// expandText expands the ApplicationSet in text over tree.
func expandText(t testing.TB, tree memTree, text string, opts Options, lim limits) (*Expansion, error) {
	t.Helper()
	if tree == nil {
		tree = memTree{}
	}
	tree[appsetFile] = text
	return expand(tree, appsetFile, firstDoc(t, []byte(text)), opts, lim)
}

// summary is one generated Application: its name and the fields a test
// looks at, flattened (spec.source.path).
func summary(t *testing.T, g Generated) map[string]string {
	t.Helper()
	v, err := jsonValue(g.Node)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	flatten("", v, out)
	return out
}

// check compares an expansion with the wanted names and fields.
func check(t *testing.T, exp *Expansion, names []string, fields map[string]map[string]string) {
	t.Helper()
	var got []string
	for _, a := range exp.Applications {
		got = append(got, a.Name)
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("generated %q, want %q", got, names)
	}
	for _, a := range exp.Applications {
		s := summary(t, a)
		for k, want := range fields[a.Name] {
			if s[k] != want {
				t.Errorf("%s: %s = %q, want %q", a.Name, k, s[k], want)
			}
		}
	}
}

// wantErr checks err mentions every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func isLimit(err error) bool { return errors.Is(err, errLimit) }

// appset builds an ApplicationSet around generators and a template body
// (both YAML, indented as under spec).
func appset(goTemplate bool, generators, template string) string {
	head := "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: test\n  namespace: argocd\nspec:\n"
	if goTemplate {
		head += "  goTemplate: true\n"
	}
	return head + "  generators:\n" + indent(generators, "  ") + "  template:\n" + indent(template, "    ")
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// basicTemplate names the Application and points it at a path.
func basicTemplate(name, path string) string {
	return "metadata:\n  name: '" + name + "'\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/gitops.git\n    path: '" + path + "'\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
}
