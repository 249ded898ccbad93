package appset

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/valyala/fasttemplate"
	yamlv3 "go.yaml.in/yaml/v3"
)

// maxNesting bounds how deeply a template's YAML may nest.
const maxNesting = 100

// render copies a template node with every string (and mapping key)
// rendered with params, as Argo CD renders each string field of the
// template. Other scalars (numbers, booleans) are kept as they are.
func (x *expander) render(n *yamlv3.Node, params map[string]any) (*yamlv3.Node, error) {
	count := 0
	if len(params) == 0 {
		// Argo CD leaves a template alone when there are no parameters.
		return x.copyNode(n, nil, &count, 0)
	}
	return x.copyNode(n, params, &count, 0)
}

func (x *expander) copyNode(n *yamlv3.Node, params map[string]any, count *int, depth int) (*yamlv3.Node, error) {
	*count++
	if *count > x.budget.lim.Nodes || depth > maxNesting {
		return nil, atLine(n, fmt.Errorf("%w: a template expands to more than %d YAML nodes or nests deeper than %d", errLimit, x.budget.lim.Nodes, maxNesting))
	}
	if err := x.budget.node(); err != nil {
		return nil, atLine(n, err)
	}
	switch n.Kind {
	case yamlv3.AliasNode:
		return x.copyNode(n.Alias, params, count, depth+1)
	case yamlv3.DocumentNode:
		if len(n.Content) == 1 {
			return x.copyNode(n.Content[0], params, count, depth+1)
		}
	case yamlv3.ScalarNode:
		out := *n
		if params != nil && n.ShortTag() == "!!str" && strings.Contains(n.Value, "{{") {
			v, err := x.tpl.replace(n.Value, params)
			if err != nil {
				return nil, atLine(n, err)
			}
			out.Value, out.Tag = v, "!!str"
		}
		return &out, nil
	}
	out := *n
	out.Content = nil
	index := map[string]int{}
	for i, c := range n.Content {
		cp, err := x.copyNode(c, params, count, depth+1)
		if err != nil {
			return nil, err
		}
		// A rendered key equal to an earlier one replaces it, as setting
		// a Go map key twice does.
		if n.Kind == yamlv3.MappingNode && i%2 == 1 {
			key := out.Content[len(out.Content)-1]
			if j, ok := index[key.Value]; ok && key.Kind == yamlv3.ScalarNode {
				out.Content = out.Content[:len(out.Content)-1]
				out.Content[j+1] = cp
				continue
			}
			index[key.Value] = len(out.Content) - 1
		}
		out.Content = append(out.Content, cp)
	}
	return &out, nil
}

// templater renders template strings in the ApplicationSet's style.
type templater struct {
	goTemplate bool
	options    []string
	funcs      template.FuncMap
	cache      map[string]*template.Template
	budget     *budget
}

// maxCached bounds the parsed Go templates one ApplicationSet keeps.
const maxCached = 4096

func newTemplater(goTemplate bool, options []string, b *budget) *templater {
	t := &templater{goTemplate: goTemplate, options: options, budget: b, cache: map[string]*template.Template{}}
	if goTemplate {
		t.funcs = funcMap(b)
	}
	return t
}

// replace renders one string with params.
func (t *templater) replace(text string, params map[string]any) (string, error) {
	if t.goTemplate {
		return t.goReplace(text, params)
	}
	return t.fastReplace(text, params)
}

// fastTagged is what a string needs for fasttemplate to touch it: "{{"
// and then "}}" on one line.
var fastTagged = regexp.MustCompile(`{{.*}}`)

// fastReplace is Argo CD's fasttemplate rendering: {{ key }} is replaced
// by a string parameter; a tag naming no string parameter is left as it
// was.
func (t *templater) fastReplace(text string, params map[string]any) (string, error) {
	if !fastTagged.MatchString(text) {
		return text, nil
	}
	tmpl, err := fasttemplate.NewTemplate(text, "{{", "}}")
	if err != nil {
		return "", fmt.Errorf("invalid template %s: %w", quoteShort(text), err)
	}
	w := &limitedWriter{budget: t.budget}
	_, err = tmpl.ExecuteFunc(w, func(w io.Writer, tag string) (int, error) {
		trimmed := strings.TrimSpace(tag)
		v, ok := params[trimmed].(string)
		if trimmed == "" || !ok {
			return fmt.Fprintf(w, "{{%s}}", tag)
		}
		return io.WriteString(w, v)
	})
	if err != nil {
		return "", fmt.Errorf("template %s: %w", quoteShort(text), err)
	}
	return w.buf.String(), nil
}

// goReplace executes text as a Go template (sprig functions) on params.
func (t *templater) goReplace(text string, params map[string]any) (string, error) {
	tmpl, ok := t.cache[text]
	if !ok {
		var err error
		tmpl, err = template.New("").Funcs(t.funcs).Option(t.options...).Parse(text)
		if err != nil {
			return "", fmt.Errorf("invalid go template %s: %w", quoteShort(text), err)
		}
		instrument(tmpl)
		if len(t.cache) < maxCached {
			t.cache[text] = tmpl
		}
	}
	w := &limitedWriter{budget: t.budget}
	t.budget.depth = 0
	if err := tmpl.Execute(w, params); err != nil {
		return "", fmt.Errorf("failed to execute go template %s: %w", quoteShort(text), err)
	}
	return w.buf.String(), nil
}

// The functions instrument inserts: each call of stepFunc takes a step;
// enterFunc and leaveFunc open and close a defined template's body, so
// {{ template }} recursion is bounded.
const (
	stepFunc  = "ferryStep"
	enterFunc = "ferryEnter"
	leaveFunc = "ferryLeave"
)

// instrument makes every range iteration and every template invocation
// take a step from the budget, so no template loops or recurses forever
// (a loop over a large integer writes nothing a writer could stop).
func instrument(tmpl *template.Template) {
	seen := map[*parse.Tree]bool{}
	for _, tt := range tmpl.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil || seen[tt.Tree] {
			continue
		}
		seen[tt.Tree] = true
		root := tt.Tree.Root
		instrumentList(tt.Tree, root)
		if tt.Name() == tmpl.Name() {
			root.Nodes = append([]parse.Node{call(tt.Tree, root.Pos, stepFunc)}, root.Nodes...)
			continue
		}
		root.Nodes = append(append([]parse.Node{call(tt.Tree, root.Pos, enterFunc)}, root.Nodes...), call(tt.Tree, root.Pos, leaveFunc))
	}
}

func instrumentList(tree *parse.Tree, l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			instrumentList(tree, n.List)
			instrumentList(tree, n.ElseList)
			if n.List != nil {
				n.List.Nodes = append([]parse.Node{call(tree, n.Pos, stepFunc)}, n.List.Nodes...)
			}
		case *parse.IfNode:
			instrumentList(tree, n.List)
			instrumentList(tree, n.ElseList)
		case *parse.WithNode:
			instrumentList(tree, n.List)
			instrumentList(tree, n.ElseList)
		case *parse.ListNode:
			instrumentList(tree, n)
		}
	}
}

// call is the action {{fn}}; the functions write nothing.
func call(tree *parse.Tree, pos parse.Pos, fn string) parse.Node {
	id := parse.NewIdentifier(fn).SetTree(tree).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
}

// limitedWriter collects one rendered string within the limits.
type limitedWriter struct {
	buf    strings.Builder
	budget *budget
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.budget.lim.String {
		return 0, fmt.Errorf("%w: a rendered string is over %d bytes", errLimit, w.budget.lim.String)
	}
	if err := w.budget.write(len(p)); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

// quoteShort quotes a template for messages, shortened.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
