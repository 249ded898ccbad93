package githubtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unicode/utf8"
)

// operation is one entry of testdata/github/rest-operations.json.
type operation struct {
	Method       string              `json:"method"`
	Path         string              `json:"path"`
	ID           string              `json:"operationId"`
	BodyRequired bool                `json:"bodyRequired"`
	RequiredBody []string            `json:"requiredBody"`
	BodyEnums    map[string][]string `json:"bodyEnums"`
	BodyTypes    map[string]string   `json:"bodyTypes"`

	segments []string
	literals int
}

// spec routes requests to the operations of GitHub's REST description.
type spec struct {
	byMethod map[string][]*operation
	byID     map[string]*operation
}

// greedyParam reports whether a path parameter may span several segments:
// go-github escapes each segment of a git ref or a file path but keeps the
// slashes between them.
func greedyParam(name string) bool { return name == "ref" || name == "path" }

func loadSpec() (*spec, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(root, "testdata", "github", "rest-operations.json")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read GitHub REST operations: %w", err)
	}
	var ops []*operation
	if err := json.Unmarshal(data, &ops); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	s := &spec{byMethod: map[string][]*operation{}, byID: map[string]*operation{}}
	for _, op := range ops {
		op.segments = strings.Split(strings.Trim(op.Path, "/"), "/")
		for _, seg := range op.segments {
			if !strings.HasPrefix(seg, "{") {
				op.literals++
			}
		}
		s.byMethod[op.Method] = append(s.byMethod[op.Method], op)
		s.byID[op.ID] = op
	}
	// The most literal template wins, so /repos/{owner}/{repo}/issues/comments
	// is list-comments-for-repo rather than issues/get with issue_number "comments".
	for _, list := range s.byMethod {
		sort.SliceStable(list, func(i, j int) bool { return list[i].literals > list[j].literals })
	}
	return s, nil
}

// match finds the operation for a request and its path parameters. The
// path must be the escaped path, so that an escaped slash stays inside its
// segment.
func (s *spec) match(method, escapedPath string) (*operation, map[string]string) {
	var segs []string
	if p := strings.Trim(escapedPath, "/"); p != "" {
		segs = strings.Split(p, "/")
	} else {
		segs = []string{""}
	}
	for _, op := range s.byMethod[method] {
		params := map[string]string{}
		if matchSegments(op.segments, segs, params) {
			return op, params
		}
	}
	return nil, nil
}

func matchSegments(tmpl, segs []string, params map[string]string) bool {
	if len(tmpl) == 0 {
		return len(segs) == 0
	}
	if len(segs) == 0 {
		return false
	}
	t := tmpl[0]
	if !strings.HasPrefix(t, "{") {
		return t == segs[0] && matchSegments(tmpl[1:], segs[1:], params)
	}
	name := strings.Trim(t, "{}")
	maxTake := 1
	if greedyParam(name) {
		maxTake = len(segs) - len(tmpl) + 1
	}
	for take := 1; take <= maxTake; take++ {
		parts := make([]string, take)
		ok := true
		for i := range take {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				ok = false
				break
			}
			parts[i] = v
		}
		if !ok {
			return false
		}
		if matchSegments(tmpl[1:], segs[take:], params) {
			params[name] = strings.Join(parts, "/")
			return true
		}
	}
	return false
}

// checkBody returns what GitHub's description says is wrong with a JSON
// request body, or "" when nothing is.
func (op *operation) checkBody(body []byte) string {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" || trimmed == "null" {
		if op.BodyRequired {
			return "request body is required"
		}
		return ""
	}
	if len(op.BodyTypes) == 0 && len(op.RequiredBody) == 0 && !op.BodyRequired {
		// Operations without a JSON body in the description (GETs and the
		// like) are not checked: clients sometimes send "{}".
		return ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Sprintf("request body is not a JSON object: %v", err)
	}
	var problems []string
	for _, name := range op.RequiredBody {
		if _, ok := obj[name]; !ok {
			problems = append(problems, fmt.Sprintf("%q wasn't supplied", name))
		}
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := obj[name]
		if string(raw) == "null" {
			continue
		}
		if want, ok := op.BodyTypes[name]; ok && !jsonIsType(raw, want) {
			problems = append(problems, fmt.Sprintf("%s is not of type %q", name, want))
			continue
		}
		if enum, ok := op.BodyEnums[name]; ok {
			var v string
			if json.Unmarshal(raw, &v) == nil && !contains(enum, v) {
				problems = append(problems, fmt.Sprintf("%q is not a member of %v for %s", v, enum, name))
			}
		}
	}
	return strings.Join(problems, "; ")
}

func jsonIsType(raw json.RawMessage, want string) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch want {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := v.(float64)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// moduleRoot finds the ferry module's root, from the working directory (any
// package's test runs inside the module) or else from this source file.
func moduleRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.Contains(string(data), "module github.com/ferry-gitops/ferry\n") {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("githubtest: cannot find the ferry module root (go.mod) above the working directory")
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
