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
	"strings"

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
// the line where the bad document starts.
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
			return nil, &ParseError{File: source, Line: yamlErrorLine(err), Err: err}
		}
		if len(node.Content) == 0 {
			continue
		}
		var obj map[string]any
		if err := node.Decode(&obj); err != nil {
			return nil, &ParseError{File: source, Line: node.Line, Err: err}
		}
		if obj == nil {
			continue
		}
		// Round-trip through JSON semantics so numbers and maps have the same
		// types whether they came from Helm, kustomize or a plain file.
		norm, err := normalize(obj)
		if err != nil {
			return nil, &ParseError{File: source, Line: node.Content[0].Line, Err: err}
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

// yamlErrorLine pulls "line N" out of a yaml.v3 error message.
func yamlErrorLine(err error) int {
	var te *yamlv3.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range msg[i+5:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
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
