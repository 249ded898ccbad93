package secrets

import (
	"bytes"
	"encoding/base64"
	"path"
	"regexp"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// maxStructureDepth bounds the walk of hostile, deeply nested YAML.
const maxStructureDepth = 64

// structure is what the YAML pass learned about one file: findings of the
// structural rules and lines where gitleaks must stay quiet.
type structure struct {
	findings []hit
	// ciphertext lines hold encrypted values (SOPS, SealedSecret): no
	// gitleaks rule applies to them.
	ciphertext map[int]bool
	// benign lines hold a value a structural rule judged not to be a
	// secret (a placeholder) or already reported under its own rule:
	// gitleaks' generic rule, which only guesses from a key name, yields.
	benign map[int]bool

	lines [][]byte
}

func (st *structure) suppressed(h hit) bool {
	if st.ciphertext[h.line] {
		return true
	}
	return st.benign[h.line] && strings.HasPrefix(h.rule, "generic")
}

func isYAMLPath(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// valuesFileRE matches Helm values files: values.yaml, values-prod.yaml,
// prod.values.yml and the like.
var valuesFileRE = regexp.MustCompile(`(?i)(^|/)[^/]*values[^/]*\.ya?ml$`)

func isValuesFile(name string) bool { return valuesFileRE.MatchString(name) }

// analyze parses data as a YAML stream when yaml is set and applies the
// structural rules. Each document is parsed on its own, so one that does
// not parse (a Helm template, a partial file) costs only itself; gitleaks'
// text rules still cover it.
func analyze(data []byte, yaml, values bool) *structure {
	st := &structure{ciphertext: map[int]bool{}, benign: map[int]bool{}}
	if !yaml {
		return st
	}
	st.lines = bytes.Split(data, []byte("\n"))
	for _, d := range splitDocuments(st.lines) {
		var doc yamlv3.Node
		if err := yamlv3.Unmarshal(d.text, &doc); err != nil {
			continue
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yamlv3.MappingNode {
			continue
		}
		root := doc.Content[0]
		shiftLines(root, d.offset, 0)
		st.sops(root)
		st.object(root, 0)
		if values {
			st.helmValues(root, 0)
		}
	}
	return st
}

// document is one document of a YAML stream; offset is the number of
// lines before it.
type document struct {
	text   []byte
	offset int
}

// splitDocuments cuts a stream at its "---" lines.
func splitDocuments(lines [][]byte) []document {
	var out []document
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, document{text: bytes.Join(lines[start:end], []byte("\n")), offset: start})
		}
	}
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r') {
			flush(i)
			start = i + 1
		}
	}
	flush(len(lines))
	return out
}

// shiftLines moves a document's line numbers to where it is in the file.
func shiftLines(n *yamlv3.Node, offset, depth int) {
	if depth > maxStructureDepth || offset == 0 {
		return
	}
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset, depth+1)
	}
}

// get returns the value of key in a mapping node.
func get(m *yamlv3.Node, key string) *yamlv3.Node {
	if m == nil || m.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yamlv3.Node) string {
	if n == nil || n.Kind != yamlv3.ScalarNode {
		return ""
	}
	return n.Value
}

// lastLine is the last line a node's text reaches.
func lastLine(n *yamlv3.Node) int {
	end := n.Line
	if n.Kind == yamlv3.ScalarNode {
		end += strings.Count(strings.TrimRight(n.Value, "\n"), "\n")
		if n.Style&(yamlv3.LiteralStyle|yamlv3.FoldedStyle) != 0 {
			end++ // the indicator line comes first
		}
	}
	for _, c := range n.Content {
		end = max(end, lastLine(c))
	}
	return end
}

func (st *structure) markLines(m map[int]bool, n *yamlv3.Node) {
	for l := n.Line; l <= lastLine(n); l++ {
		m[l] = true
	}
}

// sops marks a SOPS-encrypted document: its metadata block and every value
// in SOPS' ENC[...] form are ciphertext.
func (st *structure) sops(root *yamlv3.Node) {
	meta := get(root, "sops")
	if meta == nil || (get(meta, "mac") == nil && get(meta, "lastmodified") == nil) {
		return
	}
	st.markLines(st.ciphertext, meta)
	var walk func(n *yamlv3.Node, depth int)
	walk = func(n *yamlv3.Node, depth int) {
		if depth > maxStructureDepth {
			return
		}
		if n.Kind == yamlv3.ScalarNode && isSOPSValue(n.Value) {
			st.markLines(st.ciphertext, n)
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
}

func isSOPSValue(v string) bool { return strings.HasPrefix(strings.TrimSpace(v), "ENC[") }

// object applies the Kubernetes rules to one manifest (and a List's items).
func (st *structure) object(obj *yamlv3.Node, depth int) {
	if depth > maxStructureDepth {
		return
	}
	kind, apiVersion := scalar(get(obj, "kind")), scalar(get(obj, "apiVersion"))
	switch {
	case kind == "Secret" && (apiVersion == "v1" || apiVersion == ""):
		st.kubernetesSecret(obj)
	case kind == "SealedSecret" && strings.HasPrefix(apiVersion, "bitnami.com/"):
		// encryptedData is ciphertext only the cluster's controller opens.
		if data := get(get(obj, "spec"), "encryptedData"); data != nil {
			st.markLines(st.ciphertext, data)
		}
	case strings.HasSuffix(kind, "List"):
		if items := get(obj, "items"); items != nil && items.Kind == yamlv3.SequenceNode {
			for _, it := range items.Content {
				if it.Kind == yamlv3.MappingNode {
					st.object(it, depth+1)
				}
			}
		}
	}
}

// kubernetesSecret reports each key of a core Secret's data and stringData
// whose value is real: not empty, a placeholder, a template or ciphertext.
func (st *structure) kubernetesSecret(obj *yamlv3.Node) {
	for i := 0; i+1 < len(obj.Content); i += 2 {
		field, m := obj.Content[i].Value, obj.Content[i+1]
		// API servers once matched field names case-insensitively, so
		// "Data" is stored as data too.
		encoded := strings.EqualFold(field, "data")
		if (!encoded && !strings.EqualFold(field, "stringData")) || m.Kind != yamlv3.MappingNode {
			continue
		}
		for j := 0; j+1 < len(m.Content); j += 2 {
			k, v := m.Content[j], m.Content[j+1]
			if v.Kind != yamlv3.ScalarNode {
				continue
			}
			value := v.Value
			if encoded {
				if dec, ok := decodeBase64(value); ok {
					value = dec
				}
			}
			switch {
			case isSOPSValue(value) || isSOPSValue(v.Value):
				st.markLines(st.ciphertext, v)
			case isPlaceholder(value) || isPlaceholder(v.Value):
				st.markLines(st.benign, v)
			case st.allowed(k):
			default:
				st.markLines(st.benign, v)
				st.findings = append(st.findings, hit{
					rule:        RuleKubernetesSecret,
					description: "A Kubernetes Secret with a value in it is committed to Git; anyone with read access has the value. Use a SealedSecret, an ExternalSecret or SOPS.",
					line:        k.Line, column: k.Column, value: value,
				})
			}
		}
	}
}

// allowed reports whether the source line of a node carries gitleaks:allow.
func (st *structure) allowed(n *yamlv3.Node) bool {
	return n.Line >= 1 && n.Line <= len(st.lines) && bytes.Contains(st.lines[n.Line-1], []byte(allowSignature))
}

func decodeBase64(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return string(b), true
		}
	}
	return "", false
}

// secretKeyRE matches keys that hold a credential, on the key lowercased
// and stripped of "_", "-" and ".": dbPassword, api_key, client-secret.
var secretKeyRE = regexp.MustCompile(`(password|passwd|passphrase|secret|secretkey|token|apikey|accesskey|privatekey)$`)

// referenceKeyRE matches keys that name a secret rather than hold one
// (existingSecret, existingPasswordSecret). secretName, secretRef or
// tokenFile never match secretKeyRE in the first place.
var referenceKeyRE = regexp.MustCompile(`^existing`)

// dnsNameRE is a Kubernetes object name: what `secret: db-credentials` holds.
var dnsNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// helmValues reports credential-like keys with real-looking values in a
// Helm values file. gitleaks' generic rule misses values with punctuation,
// which is how generated passwords look.
func (st *structure) helmValues(n *yamlv3.Node, depth int) {
	if depth > maxStructureDepth {
		return
	}
	switch n.Kind {
	case yamlv3.SequenceNode:
		for _, c := range n.Content {
			st.helmValues(c, depth+1)
		}
	case yamlv3.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yamlv3.ScalarNode {
				st.helmValues(v, depth+1)
				continue
			}
			if v.ShortTag() != "!!str" || !isCredentialKey(k.Value) {
				continue
			}
			key := normalizeKey(k.Value)
			switch {
			case isSOPSValue(v.Value):
				st.markLines(st.ciphertext, v)
			case isPlaceholder(v.Value),
				strings.HasSuffix(key, "secret") && dnsNameRE.MatchString(v.Value):
				st.markLines(st.benign, v)
			case st.allowed(k):
			case looksRandom(v.Value):
				st.markLines(st.benign, v)
				st.findings = append(st.findings, hit{
					rule:        RuleHelmValuesSecret,
					description: "A credential in a Helm values file is committed to Git; reference an existing Secret instead.",
					line:        k.Line, column: k.Column, value: v.Value,
				})
			}
		}
	}
}

func normalizeKey(k string) string {
	return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(k))
}

func isCredentialKey(k string) bool {
	key := normalizeKey(k)
	return secretKeyRE.MatchString(key) && !referenceKeyRE.MatchString(key)
}
