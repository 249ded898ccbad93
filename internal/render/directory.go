package render

import (
	"bytes"
	"errors"
	"path"
	"regexp"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// manifestFile is the name pattern Argo CD's directory source picks up.
var manifestFile = regexp.MustCompile(`^.*\.(yaml|yml|json|jsonnet)$`)

// directory renders a plain directory the way Argo CD does by default: every
// manifest file directly inside it, no recursion.
func (j *job) directory() ([]manifest.Object, error) {
	dir, err := j.sourceDir()
	if err != nil {
		return nil, err
	}
	names, err := j.tree.ReadDir(dir)
	if err != nil {
		return nil, &Error{File: dir, Err: err}
	}
	var out []manifest.Object
	for _, name := range names {
		if !manifestFile.MatchString(name) {
			continue
		}
		file := path.Join(dir, name)
		if dir == "." {
			file = name
		}
		if j.tree.IsDir(file) {
			continue
		}
		if path.Ext(name) == ".jsonnet" {
			// Silently skipping it would show a diff without its objects.
			return nil, errorf(file, 0, "jsonnet is not supported by ferry")
		}
		data, err := j.r.read(file)
		if err != nil {
			return nil, located(file, 0, err)
		}
		if err := j.output.add(len(data)); err != nil {
			return nil, &Error{File: file, Err: err}
		}
		objs, err := parseDirectoryFile(file, data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// parseDirectoryFile applies Argo CD's leniency: a YAML file that does not
// parse as Kubernetes objects is ignored unless it looks like a manifest (a
// stray values file or CI config is not an error); JSON must be an object.
func parseDirectoryFile(file string, data []byte) ([]manifest.Object, error) {
	objs, err := manifest.Parse(data, file)
	if err == nil {
		err = requireObjects(file, objs)
	}
	if err == nil {
		return objs, nil
	}
	if path.Ext(file) != ".json" && !looksLikeManifest(data) {
		return nil, nil
	}
	return nil, located(file, 0, err)
}

func requireObjects(file string, objs []manifest.Object) error {
	for _, o := range objs {
		if o.APIVersion() == "" || o.Key.Kind == "" {
			return &Error{File: file, Err: errors.New("a document is not a Kubernetes object (apiVersion and kind are required)")}
		}
	}
	return nil
}

func looksLikeManifest(data []byte) bool {
	return bytes.Contains(data, []byte("apiVersion:")) &&
		bytes.Contains(data, []byte("kind:")) &&
		bytes.Contains(data, []byte("metadata:"))
}
