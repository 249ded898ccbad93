package environment

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/itchyny/gojq"
)

// IgnoreDifference mirrors one entry of Argo CD's spec.ignoreDifferences:
// which objects (group and kind, optionally name and namespace) and which
// of their fields drift detection and self-heal leave alone.
type IgnoreDifference struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// JSONPointers are RFC 6901 pointers ("/spec/replicas").
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// JQPathExpressions are jq path expressions
	// (".spec.template.spec.containers[] | select(.name == \"x\").image").
	JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
	// ManagedFieldsManagers are field managers whose fields are ignored.
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// Validate checks an entry as Argo CD would use it: a kind, group and kind
// patterns that are valid globs, JSON pointers that parse, jq expressions
// that compile. The error names the offending entry field.
func (d IgnoreDifference) Validate() error {
	if d.Kind == "" {
		return errors.New("kind is required")
	}
	for _, p := range []string{d.Group, d.Kind} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	for i, p := range d.JSONPointers {
		if _, err := ParsePointer(p); err != nil {
			return fmt.Errorf("jsonPointers[%d]: %w", i, err)
		}
	}
	for i, q := range d.JQPathExpressions {
		if _, err := CompileJQPath(q); err != nil {
			return fmt.Errorf("jqPathExpressions[%d]: %w", i, err)
		}
	}
	for i, m := range d.ManagedFieldsManagers {
		if strings.TrimSpace(m) == "" {
			return fmt.Errorf("managedFieldsManagers[%d] is empty", i)
		}
	}
	return nil
}

// ParsePointer splits an RFC 6901 JSON pointer into its unescaped tokens:
// "/metadata/annotations/a~1b" is metadata, annotations, a/b. "" (the
// whole document) is refused: ignoring a whole object is not a field.
func ParsePointer(p string) ([]string, error) {
	if p == "" || p == "/" {
		return nil, fmt.Errorf("JSON pointer %q names the whole object", p)
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("JSON pointer %q does not start with /", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("JSON pointer %q: ~ must be followed by 0 or 1", p)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// CompileJQPath compiles a jq path expression as path(EXPR), so that
// running it yields the paths EXPR selects. The expression is wrapped as a
// parsed argument, never spliced into a string.
func CompileJQPath(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("jq expression %q: %w", expr, err)
	}
	if len(q.Imports) > 0 {
		return nil, fmt.Errorf("jq expression %q: imports are not allowed", expr)
	}
	wrapped := &gojq.Query{Term: &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: "path", Args: []*gojq.Query{q}}}}
	code, err := gojq.Compile(wrapped)
	if err != nil {
		return nil, fmt.Errorf("jq expression %q: %w", expr, err)
	}
	return code, nil
}
