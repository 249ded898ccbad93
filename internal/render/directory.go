package render

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// manifestFile is the name pattern Argo CD's directory source picks up.
var manifestFile = regexp.MustCompile(`^.*\.(yaml|yml|json|jsonnet)$`)

// skipMarker in a file keeps Argo CD from rendering it.
var skipMarker = []byte("+argocd:skip-file-rendering")

// directory renders a plain directory the way Argo CD does: every manifest
// file directly inside it (and in its subdirectories with
// directory.recurse) that directory.include and directory.exclude let
// through, YAML and JSON parsed and Jsonnet evaluated.
func (j *job) directory() ([]manifest.Object, error) {
	dir, err := j.sourceDir()
	if err != nil {
		return nil, err
	}
	src := j.env.Directory
	if src == nil {
		src = &environment.DirectorySource{}
	}
	filter, err := newPathFilter(src.Include, src.Exclude)
	if err != nil {
		return nil, errorf(j.env.File, j.env.Line, "%v", err)
	}
	files, err := j.directoryFiles(dir, src.Recurse, filter)
	if err != nil {
		return nil, err
	}
	var im *jsonnetImporter
	var out []manifest.Object
	for _, file := range files {
		data, err := j.r.read(file)
		if err != nil {
			return nil, located(file, 0, err)
		}
		if bytes.Contains(data, skipMarker) {
			continue
		}
		var objs []manifest.Object
		if isJsonnet(file) {
			if im == nil {
				if im, err = j.dirImporter(dir); err != nil {
					return nil, err
				}
			}
			objs, err = j.jsonnetFile(im, file, data)
		} else {
			if err := j.output.add(len(data)); err != nil {
				return nil, &Error{File: file, Err: err}
			}
			objs, err = parseDirectoryFile(file, data)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// directoryFiles lists the files a directory source reads, as Argo CD's
// walk finds them: manifest names only; subdirectories only with recurse,
// and never through a symlink (Argo CD's walk does not follow them); a
// symlink to a file followed within the repository (one leading out is an
// error, one leading nowhere is skipped); include and exclude matched
// against the path relative to the source directory.
func (j *job) directoryFiles(dir string, recurse bool, filter pathFilter) ([]string, error) {
	var out []string
	var walk func(d string, depth int) error
	walk = func(d string, depth int) error {
		if depth > maxDirDepth {
			return errorf(d, 0, "directories nested too deeply")
		}
		names, err := j.tree.ReadDir(d)
		if err != nil {
			return &Error{File: d, Err: err}
		}
		real, err := j.tree.Resolve(d)
		if err != nil {
			return &Error{File: d, Err: err}
		}
		for _, name := range names {
			file := joinDir(d, name)
			target, err := j.tree.Resolve(file)
			link := err != nil || target != joinDir(real, name)
			if !link && j.tree.IsDir(file) {
				if recurse && name != ".git" {
					if err := walk(file, depth+1); err != nil {
						return err
					}
				}
				continue
			}
			if !manifestFile.MatchString(name) {
				continue
			}
			if link {
				ok, err := j.linkedFile(file)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			if filter.keep(relTo(dir, file)) {
				out = append(out, file)
			}
		}
		return nil
	}
	return out, walk(dir, 0)
}

// linkedFile follows a symlink a directory source lists: false when it
// leads nowhere or to a directory (Argo CD skips those), an error when it
// leads out of the repository.
func (j *job) linkedFile(file string) (bool, error) {
	real, err := j.r.resolve(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, located(file, 0, err)
	}
	return !j.tree.IsDir(real), nil
}

// relTo is file's path relative to dir (both clean repository paths).
func relTo(dir, file string) string {
	if dir == "." {
		return file
	}
	return strings.TrimPrefix(file, dir+"/")
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
