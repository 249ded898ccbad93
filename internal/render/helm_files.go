package render

import (
	"errors"
	"fmt"
	"io/fs"

	"helm.sh/helm/v3/pkg/strvals"
)

// missingValueFile reports that a valueFiles entry names a repository file
// that does not exist (ignoreMissingValueFiles drops it, as Argo CD does).
// A fetched chart's own value files are the chart's business.
func (j *job) missingValueFile(chartDir, vf string) bool {
	p, isRef, err := j.env.Helm.RefFile(vf)
	if err != nil {
		return false // the read reports it
	}
	if !isRef {
		if j.env.Chart != nil {
			return false
		}
		if p, err = valueFilePath(chartDir, vf); err != nil {
			return false
		}
	}
	return !j.r.exists(p)
}

// fileParameters applies helm.fileParameters like Argo CD's --set-file
// name=path, after --set and --set-string: the value is the content of the
// repository file path names, relative to the chart directory (or to the
// repository root with a leading "/"). A repeated name keeps its last path.
func (j *job) fileParameters(chartDir string, base map[string]any) error {
	h := j.env.Helm
	if h == nil {
		return nil
	}
	last := map[string]int{}
	for i, p := range h.FileParameters {
		last[p.Name] = i
	}
	for i, fp := range h.FileParameters {
		if last[fp.Name] != i {
			continue
		}
		arg := fp.Name + "=" + escapeSetValue(fp.Path)
		reader := func(rs []rune) (any, error) {
			p, err := valueFilePath(chartDir, string(rs))
			if err != nil {
				return nil, err
			}
			data, err := j.r.read(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("file %q not found in the repository (looked for %s)", string(rs), p)
			}
			if err != nil {
				return nil, err
			}
			return string(data), nil
		}
		if err := strvals.ParseIntoFile(arg, base, reader); err != nil {
			var own *Error
			if errors.As(err, &own) {
				return own
			}
			return &Error{File: j.env.File, Err: fmt.Errorf("helm fileParameters %q: %w", fp.Name, err)}
		}
	}
	return nil
}
