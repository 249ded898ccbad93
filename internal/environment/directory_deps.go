package environment

import (
	"path"
	"regexp"
	"strings"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// jsonnetImportRE finds the paths Jsonnet imports: import, importstr and
// importbin take a string literal only, so scanning the text finds every
// one (and, harmlessly, some in comments).
var jsonnetImportRE = regexp.MustCompile(`\bimport(?:str|bin)?\s*@?(?:"([^"\n]*)"|'([^'\n]*)')`)

// maxJsonnetScan bounds the files the import scan reads.
const maxJsonnetScan = 2000

// jsonnetDependencies adds what a directory source's Jsonnet reads outside
// its directory: each directory.jsonnet.libs directory whole, and the
// files its .jsonnet files import (transitively), wherever the import
// could resolve: next to the importing file, in each library, in the
// source directory (a file that does not exist yet is kept: adding it
// changes what the import finds).
func (b *depsBuilder) jsonnetDependencies(env Environment) {
	if env.Type != Directory || env.External {
		return
	}
	dir, err := repofs.Clean(env.Path)
	if err != nil {
		return
	}
	jpaths := []string{dir}
	if d := env.Directory; d != nil && d.Jsonnet != nil {
		for _, lib := range d.Jsonnet.Libs {
			if p, err := repofs.Clean(lib); err == nil {
				jpaths = append(jpaths, p)
				b.dir(p)
			}
		}
	}
	var queue []string
	for _, f := range b.tree.Files() {
		if (f == dir || dir == "." || strings.HasPrefix(f, dir+"/")) && strings.HasSuffix(f, ".jsonnet") {
			queue = append(queue, f)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 && len(seen) < maxJsonnetScan {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		for _, imp := range b.jsonnetImports(f) {
			for _, d := range append([]string{path.Dir(f)}, jpaths...) {
				p, err := repofs.Join(d, imp)
				if err != nil {
					continue
				}
				b.file(p)
				if b.tree.Exists(p) && !b.tree.IsDir(p) {
					queue = append(queue, p)
				}
			}
		}
	}
}

// jsonnetImports lists the paths a file imports; none when it cannot be read.
func (b *depsBuilder) jsonnetImports(f string) []string {
	if size, err := b.tree.Size(f); err != nil || size > maxScanSize {
		return nil
	}
	data, err := b.tree.ReadFile(f)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range jsonnetImportRE.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}
