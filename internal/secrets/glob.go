package secrets

import (
	"fmt"
	"path"
	"strings"
)

// glob is an allowlist path pattern: path.Match per element, "**" for any
// number of elements, and a pattern without "/" tried on the base name.
type glob struct {
	parts    []string
	baseName bool
}

func compileGlob(p string) (glob, error) {
	p = strings.TrimPrefix(strings.TrimSpace(p), "/")
	if p == "" {
		return glob{}, fmt.Errorf("empty glob")
	}
	if _, err := path.Match(p, ""); err != nil {
		return glob{}, err
	}
	return glob{parts: strings.Split(p, "/"), baseName: !strings.Contains(p, "/")}, nil
}

func (g glob) match(name string) bool {
	if g.baseName && g.parts[0] != "**" {
		ok, _ := path.Match(g.parts[0], path.Base(name))
		return ok
	}
	return matchParts(g.parts, strings.Split(name, "/"))
}

func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchParts(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
