// Package manifest is ferry's model of a rendered Kubernetes object: parsed
// from YAML streams, identified by (group, kind, namespace, name), ordered the
// way Helm and Argo CD apply them, and printed as normalized YAML so two
// renders compare line by line.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Key identifies an object across revisions.
type Key struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the key as group/Kind/namespace/name, leaving out empty parts.
func (k Key) String() string {
	var parts []string
	if k.Group != "" {
		parts = append(parts, k.Group)
	}
	parts = append(parts, k.Kind)
	if k.Namespace != "" {
		parts = append(parts, k.Namespace)
	}
	parts = append(parts, k.Name)
	return strings.Join(parts, "/")
}

// Object is one rendered Kubernetes object.
type Object struct {
	Key Key
	// Object is the decoded document, as JSON-compatible values.
	Object map[string]any
	// Source is the repository file the object came from, when known.
	Source string
}

// APIVersion returns the object's apiVersion.
func (o Object) APIVersion() string {
	v, _ := o.Object["apiVersion"].(string)
	return v
}

// KeyOf computes the identity of a decoded object.
func KeyOf(obj map[string]any) Key {
	apiVersion, _ := obj["apiVersion"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	return Key{Group: group, Kind: kind, Namespace: ns, Name: name}
}

// New wraps a decoded object.
func New(obj map[string]any, source string) Object {
	return Object{Key: KeyOf(obj), Object: obj, Source: source}
}

// ParseError locates a YAML problem in a file.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse decodes a multi-document YAML stream. Empty documents are skipped;
// a `List` kind is expanded into its items. Errors name the source file and
// the line of the offending YAML.
func Parse(data []byte, source string) ([]Object, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var out []Object
	for {
		var node yamlv3.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// An error found at the end of the stream (an unclosed bracket)
			// belongs to the last line there is.
			line := min(YAMLErrorLine(data, err), lastLine(data))
			return nil, &ParseError{File: source, Line: line, Err: err}
		}
		if len(node.Content) == 0 {
			continue
		}
		plainTimestamps(&node)
		var obj map[string]any
		if err := node.Decode(&obj); err != nil {
			return nil, &ParseError{File: source, Line: decodeErrorLine(&node, err), Err: err}
		}
		if obj == nil {
			continue
		}
		// Round-trip through JSON semantics so numbers and maps have the same
		// types whether they came from Helm, kustomize or a plain file.
		norm, err := normalize(obj)
		if err != nil {
			return nil, &ParseError{File: source, Line: decodeErrorLine(&node, err), Err: err}
		}
		if kind, _ := norm["kind"].(string); strings.HasSuffix(kind, "List") && norm["items"] != nil {
			items, _ := norm["items"].([]any)
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, New(m, source))
				}
			}
			continue
		}
		out = append(out, New(norm, source))
	}
	return out, nil
}

// plainTimestamps keeps untagged timestamp-looking scalars (2024-01-01) as
// the strings Kubernetes reads them as: yaml.v3 would decode them to
// time.Time, which prints back as 2024-01-01T00:00:00Z.
func plainTimestamps(n *yamlv3.Node) {
	if n.Kind == yamlv3.ScalarNode && n.Tag == "!!timestamp" && n.Style&yamlv3.TaggedStyle == 0 {
		n.Tag = "!!str"
	}
	for _, c := range n.Content {
		plainTimestamps(c)
	}
}

func normalize(obj map[string]any) (map[string]any, error) {
	js, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(js, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeErrorLine locates an error decoding or normalizing a parsed
// document: the line a yaml.v3 type error names, else the innermost node
// that fails on its own, else the document's first line.
func decodeErrorLine(doc *yamlv3.Node, err error) int {
	if line := yamlErrorLine(err); line > 0 {
		return line
	}
	check := func(n *yamlv3.Node) error {
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		_, err := yaml.Marshal(v)
		return err
	}
	if line := failingNodeLine(doc, check); line > 0 {
		return line
	}
	return doc.Content[0].Line
}

// failingNodeLine returns the line of the first node, innermost first, that
// check rejects; for a mapping, the key of the first rejected entry.
func failingNodeLine(n *yamlv3.Node, check func(*yamlv3.Node) error) int {
	switch n.Kind {
	case yamlv3.AliasNode:
		return 0
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if line := failingNodeLine(k, check); line > 0 {
				return line
			}
			if line := failingNodeLine(v, check); line > 0 {
				return line
			}
			// The entry itself: a merge of a scalar, a key that is not a string.
			entry := &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map", Content: []*yamlv3.Node{k, v}}
			if check(entry) != nil {
				return k.Line
			}
		}
	default:
		for _, c := range n.Content {
			if line := failingNodeLine(c, check); line > 0 {
				return line
			}
		}
	}
	if n.Kind != yamlv3.DocumentNode && check(n) != nil {
		return n.Line
	}
	return 0
}

// parserProblems are the problems libyaml's parser (as opposed to its
// scanner) reports. yaml.v3 puts them at the 0-based line of the enclosing
// construct, often the document's start, instead of the offending token.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found undefined tag handle":             true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// syntaxErrorLine is the 1-based line of a yaml.v3 syntax error in data, 0
// when unknown.
func syntaxErrorLine(data []byte, err error) int {
	line, problem := splitYAMLError(err)
	if parserProblems[problem] {
		// yaml.v2 runs the same parser but reports the offending token's
		// (0-based) line: use it when it agrees on the problem.
		if line2, problem2, ok := yamlv2Error(data); ok && problem2 == problem {
			return line2 + 1
		}
		return line + 1
	}
	if line > 0 {
		// Scanner errors carry the 1-based line.
		return line
	}
	// yaml.v3 leaves out "line 1" (0-based line 0); other errors (an
	// unknown alias, invalid UTF-8) carry no position at all. The error
	// is on line 1 when line 1 alone shows it.
	first := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		first = data[:i+1]
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(first))
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if err == nil {
			continue
		}
		if _, p := splitYAMLError(err); !errors.Is(err, io.EOF) && p == problem {
			return 1
		}
		return 0
	}
}

// lastLine is the number of the last line of data with anything on it.
func lastLine(data []byte) int {
	return bytes.Count(bytes.TrimRight(data, " \t\r\n"), []byte("\n")) + 1
}

// yamlv2Error decodes data with yaml.v2 and returns the line and problem of
// its first syntax error.
func yamlv2Error(data []byte) (int, string, bool) {
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	for {
		var v struct{}
		err := dec.Decode(&v)
		var te *yamlv2.TypeError
		switch {
		case err == nil, errors.As(err, &te):
			continue
		case errors.Is(err, io.EOF):
			return 0, "", false
		}
		line, problem := splitYAMLError(err)
		return line, problem, true
	}
}

// splitYAMLError splits "yaml: line N: problem" into N (0 when absent) and
// the problem.
func splitYAMLError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return 0, msg
	}
	num, problem, ok := strings.Cut(rest, ": ")
	n, convErr := strconv.Atoi(num)
	if !ok || convErr != nil {
		return 0, msg
	}
	return n, problem
}

// yamlErrorLine is the line at the start of a yaml.v3 error message
// ("yaml: line N: ..."), or of its first unmarshal error; 0 if none.
func yamlErrorLine(err error) int {
	var te *yamlv3.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	line, _ := splitYAMLError(err)
	return line
}

// Marshal prints an object as normalized YAML: keys sorted, two-space indent,
// so the same object always prints the same bytes.
func Marshal(obj map[string]any) ([]byte, error) {
	return yaml.Marshal(obj)
}

// Stream prints objects as one YAML stream in the given order.
func Stream(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", o.Key, err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// kindOrder is the order in which Helm installs kinds (and Argo CD syncs them
// within a wave): things others depend on first. Unlisted kinds go after.
var kindOrder = []string{
	"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
	"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList",
	"Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
	"ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
	"StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var kindRank = func() map[string]int {
	m := make(map[string]int, len(kindOrder))
	for i, k := range kindOrder {
		m[k] = i
	}
	return m
}()

// KindRank orders kinds for apply: Namespaces and CRDs before the things in them.
func KindRank(kind string) int {
	// CRDs must exist before any custom resource; Helm puts them first of all.
	if kind == "CustomResourceDefinition" {
		return -1
	}
	if kind == "Namespace" {
		return -2
	}
	if r, ok := kindRank[kind]; ok {
		return r
	}
	return len(kindOrder)
}

// Sort orders objects by kind rank, then kind, group, namespace and name.
func Sort(objs []Object) {
	sort.SliceStable(objs, func(i, j int) bool { return Less(objs[i].Key, objs[j].Key) })
}

// Less is the order Sort uses.
func Less(a, b Key) bool {
	if ra, rb := KindRank(a.Kind), KindRank(b.Kind); ra != rb {
		return ra < rb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// DefinedKind is the kind a CustomResourceDefinition defines: its group,
// its kind, and whether it is namespaced. ok is false for any other object.
func (o Object) DefinedKind() (group, kind string, namespaced, ok bool) {
	if o.Key.Group != "apiextensions.k8s.io" || o.Key.Kind != "CustomResourceDefinition" {
		return "", "", false, false
	}
	spec, _ := o.Object["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	group, _ = spec["group"].(string)
	kind, _ = names["kind"].(string)
	scope, _ := spec["scope"].(string)
	return group, kind, !strings.EqualFold(scope, "Cluster"), kind != ""
}
