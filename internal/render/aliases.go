package render

import (
	"bytes"
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// expansion measures what a YAML document becomes once its aliases are
// expanded, without expanding them: each anchored node's size is counted
// once and reused for every alias to it. kustomize's reader (kyaml's
// DeAnchor) copies a node for every alias, so a kilobyte of nested anchors
// ("billion laughs") would otherwise grow to gigabytes before any limit on
// output could see it.
type expansion struct {
	limit int
	sizes map[*yaml.Node]int
	open  map[*yaml.Node]bool
}

// checkAliases refuses a YAML file whose aliases expand to more than limit
// nodes. Files that are not YAML, or have no aliases, pass: the decoder
// that reads them reports its own errors.
func checkAliases(name string, data []byte, limit int) error {
	if !bytes.Contains(data, []byte("*")) || !bytes.Contains(data, []byte("&")) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	x := &expansion{limit: limit, sizes: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	total := 0
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil // end of stream, or not YAML: nothing expands
		}
		n, at := x.size(&doc)
		total += n
		if n < 0 || total > limit {
			return &Error{File: name, Line: at, Err: fmt.Errorf("YAML aliases expand to more than %d nodes", limit)}
		}
	}
}

// size returns the expanded node count of n, or -1 with the line of the
// alias that went over the limit (or refers to a node that contains it).
func (x *expansion) size(n *yaml.Node) (int, int) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if x.open[n.Alias] {
			return -1, n.Line
		}
		if s, ok := x.sizes[n.Alias]; ok {
			return s, n.Line
		}
		s, at := x.size(n.Alias)
		if s < 0 {
			return s, max(at, n.Line)
		}
		return s, n.Line
	}
	x.open[n] = true
	defer delete(x.open, n)
	total := 1
	for _, c := range n.Content {
		s, at := x.size(c)
		if s < 0 {
			return -1, at
		}
		total += s
		if total > x.limit {
			return -1, at
		}
	}
	if n.Anchor != "" {
		x.sizes[n] = total
	}
	return total, n.Line
}
