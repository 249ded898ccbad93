package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/strvals"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// helmValues builds the user-supplied values the way Argo CD hands them to
// `helm template`: each valueFiles entry in order (--values), then
// valuesObject or, when it is unset, values (one more --values), then
// parameters (--set, then --set-string for forceString ones). Helm merges
// the result over the chart's values.yaml.
func (j *job) helmValues(chartDir string, ch *chart.Chart) (map[string]any, error) {
	base := map[string]any{}
	h := j.env.Helm
	if h == nil {
		return base, nil
	}
	for _, vf := range h.ValueFiles {
		if h.IgnoreMissingValueFiles && j.missingValueFile(chartDir, vf) {
			continue
		}
		data, p, err := j.valueFile(chartDir, ch, vf)
		if err != nil {
			return nil, err
		}
		m, err := parseValues(data)
		if err != nil {
			return nil, &Error{File: p, Line: manifest.YAMLErrorLine(nil, err), Err: fmt.Errorf("failed to parse %s: %w", vf, err)}
		}
		base = mergeValues(base, m)
	}

	inline := []byte(h.Values)
	if h.ValuesObject != nil {
		js, err := json.Marshal(h.ValuesObject)
		if err != nil {
			return nil, &Error{File: j.env.File, Err: fmt.Errorf("valuesObject: %w", err)}
		}
		if inline, err = sigsyaml.JSONToYAML(js); err != nil {
			return nil, &Error{File: j.env.File, Err: fmt.Errorf("valuesObject: %w", err)}
		}
	}
	if len(inline) > 0 {
		m, err := parseValues(inline)
		if err != nil {
			return nil, &Error{File: j.env.File, Err: fmt.Errorf("helm values: %w", err)}
		}
		base = mergeValues(base, m)
	}

	// Argo CD keeps parameters in two maps, so a repeated name keeps its last value.
	var set, setString []string
	last := map[string]int{}
	for i, p := range h.Parameters {
		last[fmt.Sprintf("%t/%s", p.ForceString, p.Name)] = i
	}
	for i, p := range h.Parameters {
		if last[fmt.Sprintf("%t/%s", p.ForceString, p.Name)] != i {
			continue
		}
		arg := p.Name + "=" + escapeSetValue(p.Value)
		if p.ForceString {
			setString = append(setString, arg)
		} else {
			set = append(set, arg)
		}
	}
	for _, s := range set {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, &Error{File: j.env.File, Err: fmt.Errorf("failed parsing helm parameter %q: %w", s, err)}
		}
	}
	for _, s := range setString {
		if err := strvals.ParseIntoString(s, base); err != nil {
			return nil, &Error{File: j.env.File, Err: fmt.Errorf("failed parsing helm parameter %q: %w", s, err)}
		}
	}
	if err := j.fileParameters(chartDir, base); err != nil {
		return nil, err
	}
	return base, nil
}

// valueFile reads one valueFiles entry: "$ref/…" from the repository root,
// a fetched chart's own file from its archive, anything else from the
// repository (see valueFilePath). p names the file for messages.
func (j *job) valueFile(chartDir string, ch *chart.Chart, vf string) (data []byte, p string, err error) {
	p, isRef, err := j.env.Helm.RefFile(vf)
	if err != nil {
		return nil, "", &Error{File: j.env.File, Err: err}
	}
	if !isRef && j.env.Chart != nil {
		return chartValueFile(ch, j.env.File, vf)
	}
	if !isRef {
		if p, err = valueFilePath(chartDir, vf); err != nil {
			return nil, "", &Error{File: j.env.File, Err: err}
		}
	}
	data, err = j.r.read(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", &Error{File: j.env.File, Err: fmt.Errorf("value file %q not found in the repository (looked for %s)", vf, p)}
	}
	if err != nil {
		return nil, "", &Error{File: p, Err: err}
	}
	return data, p, nil
}

// valueFilePath resolves a valueFiles entry like Argo CD: relative to the
// chart directory, or to the repository root when it starts with "/".
// URLs are refused: ferry never fetches values.
func valueFilePath(chartDir, vf string) (string, error) {
	if strings.Contains(vf, "://") {
		return "", fmt.Errorf("value file %q is remote; ferry does not fetch remote values", vf)
	}
	if strings.HasPrefix(vf, "/") {
		return repofs.Clean(vf)
	}
	p, err := repofs.Join(chartDir, vf)
	if err != nil {
		return "", fmt.Errorf("value file %q: %w", vf, err)
	}
	return p, nil
}

func parseValues(data []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := sigsyaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// mergeValues is Helm's merge of successive --values files: maps merge
// deeply, anything else is replaced.
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if bv, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(bv, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// escapeSetValue is Argo CD's cleanSetParameters: commas in a parameter
// value are literal unless it is a {a,b} list or the comma is escaped.
func escapeSetValue(val string) string {
	if strings.HasPrefix(val, "{") && strings.HasSuffix(val, "}") {
		return val
	}
	var b strings.Builder
	var prev rune
	for _, r := range val {
		if r == ',' && prev != '\\' {
			b.WriteString(`\,`)
		} else {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}
