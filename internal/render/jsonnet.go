package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path"
	"strings"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// jsonnetMaxStack bounds the evaluation's call depth: go-jsonnet's and the
// jsonnet CLI's default, which Argo CD keeps. Infinite recursion ends there;
// the render's timeout and output limit bound the rest (a worker that runs
// past its time is killed, which also stops an evaluation that cannot be
// interrupted).
const jsonnetMaxStack = 500

// dirImporter is the importer for a directory source. An import is
// looked for next to the importing file, then in the libraries (relative to
// the repository root, as Argo CD resolves directory.jsonnet.libs; the last
// one first), then in the source directory: Argo CD's -J order.
func (j *job) dirImporter(dir string) (*jsonnetImporter, error) {
	jpaths := []string{dir}
	if src := j.env.Directory; src != nil && src.Jsonnet != nil {
		for _, lib := range src.Jsonnet.Libs {
			p, err := repofs.Clean(lib)
			if err != nil {
				return nil, errorf(j.env.File, j.env.Line, "directory.jsonnet.libs %q: the path leaves the repository", lib)
			}
			jpaths = append(jpaths, p)
		}
	}
	return newJsonnetImporter(j.r, jpaths), nil
}

// jsonnetFile evaluates one .jsonnet file of a directory source (whose
// content the caller has read) as Argo CD does: a new VM with the
// source's external variables and top-level arguments, its values expanded
// from the build environment; an object is one manifest, an array one per
// element, and a List is flattened.
func (j *job) jsonnetFile(im *jsonnetImporter, file string, data []byte) ([]manifest.Object, error) {
	im.seed(file, data)
	vm := jsonnet.MakeVM()
	vm.MaxStack = jsonnetMaxStack
	vm.SetTraceOut(io.Discard) // std.trace: an engine never logs
	vm.Importer(im)
	errs := &jsonnetErrors{}
	vm.ErrorFormatter = errs
	if src := j.env.Directory; src != nil && src.Jsonnet != nil {
		vars := j.argoBuildEnv()
		for _, v := range src.Jsonnet.ExtVars {
			if v.Code {
				vm.ExtCode(v.Name, envsubst(v.Value, vars))
			} else {
				vm.ExtVar(v.Name, envsubst(v.Value, vars))
			}
		}
		for _, v := range src.Jsonnet.TLAs {
			if v.Code {
				vm.TLACode(v.Name, envsubst(v.Value, vars))
			} else {
				vm.TLAVar(v.Name, envsubst(v.Value, vars))
			}
		}
	}
	out, err := vm.EvaluateFile(file)
	if err != nil {
		return nil, errs.located(file, im, err)
	}
	if err := j.output.add(len(out)); err != nil {
		return nil, &Error{File: file, Err: err}
	}
	return jsonnetObjects(file, []byte(out))
}

// jsonnetObjects turns the evaluation's JSON into objects: an object is
// one manifest, an array each of its elements (which must be objects), and
// a List kind its items.
func jsonnetObjects(file string, out []byte) ([]manifest.Object, error) {
	out = bytes.TrimSpace(out)
	var docs []json.RawMessage
	switch {
	case bytes.HasPrefix(out, []byte("[")):
		if err := json.Unmarshal(out, &docs); err != nil {
			return nil, errorf(file, 0, "jsonnet output is not a JSON array: %v", err)
		}
	case bytes.HasPrefix(out, []byte("{")):
		docs = []json.RawMessage{out}
	default:
		return nil, errorf(file, 0, "jsonnet output must be an object or an array of objects")
	}
	var objs []manifest.Object
	for i, d := range docs {
		if !bytes.HasPrefix(bytes.TrimSpace(d), []byte("{")) {
			return nil, errorf(file, 0, "jsonnet output: element %d of the array is not an object", i)
		}
		parsed, err := manifest.Parse(d, file)
		if err != nil {
			return nil, errorf(file, 0, "jsonnet output: element %d: %v", i, errors.Unwrap(err))
		}
		if err := requireObjects(file, parsed); err != nil {
			return nil, errorf(file, 0, "jsonnet output: element %d: %v", i, errors.Unwrap(err))
		}
		objs = append(objs, parsed...)
	}
	return objs, nil
}

// jsonnetErrors is the VM's ErrorFormatter: it keeps the structured error
// (go-jsonnet hands back only the formatted text) so that the render error
// can name the file and line where evaluation failed.
type jsonnetErrors struct {
	last error
}

func (e *jsonnetErrors) Format(err error) string {
	e.last = err
	return err.Error()
}

func (e *jsonnetErrors) SetMaxStackTraceSize(int)                 {}
func (e *jsonnetErrors) SetColorFormatter(jsonnet.ColorFormatter) {}

// staticError is go-jsonnet's (internal) parse and static-check error.
type staticError interface {
	Loc() ast.LocationRange
}

// located is the evaluation error at the innermost location in a
// repository file (an error inside the standard library or an external
// variable is reported where the repository's code called it), with the
// import that failed as its cause.
func (e *jsonnetErrors) located(file string, im *jsonnetImporter, err error) error {
	msg, line, at := strings.TrimSpace(err.Error()), 0, file
	var rt jsonnet.RuntimeError
	var se staticError
	switch {
	case errors.As(e.last, &rt):
		msg = rt.Msg
		// The trace runs from the outermost call to the innermost.
		for k := len(rt.StackTrace) - 1; k >= 0; k-- {
			if loc := rt.StackTrace[k].Loc; im.known(loc.FileName) {
				at, line = loc.FileName, loc.Begin.Line
				break
			}
		}
	case errors.As(e.last, &se):
		loc := se.Loc()
		msg = strings.TrimSpace(strings.TrimPrefix(e.last.Error(), loc.String()))
		if im.known(loc.FileName) {
			at, line = loc.FileName, loc.Begin.Line
		}
	}
	if !strings.HasPrefix(msg, "jsonnet") {
		msg = "jsonnet: " + msg
	}
	if cause := im.takeFailure(); cause != nil {
		return &Error{File: at, Line: line, Err: reword(cause, msg)}
	}
	return &Error{File: at, Line: line, Err: errors.New(msg)}
}

// seed hands the importer a file already read, so it is not read twice.
func (im *jsonnetImporter) seed(name string, data []byte) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if _, ok := im.contents[name]; !ok {
		im.contents[name] = jsonnet.MakeContentsRaw(data)
	}
}

// isJsonnet reports whether a directory source evaluates the file: a
// .jsonnet file (a .libsonnet is only ever imported).
func isJsonnet(name string) bool {
	return path.Ext(name) == ".jsonnet"
}
