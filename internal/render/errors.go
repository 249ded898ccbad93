package render

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Error locates a render failure; File/Line are set when known (repo-relative path).
type Error struct {
	Env  string
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Env != "":
		return fmt.Sprintf("environment %s: %v", e.Env, e.Err)
	}
	return fmt.Sprint(e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errorf builds an *Error at a location; file may be empty and line zero.
func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}

// located wraps err at a location unless it already carries one.
func located(file string, line int, err error) error {
	var re *Error
	if errors.As(err, &re) {
		return err
	}
	var pe *manifest.ParseError
	if errors.As(err, &pe) {
		return &Error{File: pe.File, Line: pe.Line, Err: reword(pe.Err, pe.Err.Error())}
	}
	return &Error{File: file, Line: line, Err: reword(err, err.Error())}
}

// maxErrorMessage bounds messages taken from kustomize and helm.
const maxErrorMessage = 1000

// rewordedError keeps a third-party error as the cause while presenting a
// cleaned-up message: virtual paths made repo-relative, quoted contents
// removed, length capped.
type rewordedError struct {
	msg   string
	cause error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.cause }

func reword(err error, msg string) error {
	msg = strings.TrimSpace(scrub(msg))
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage] + "… (truncated)"
	}
	return &rewordedError{msg: msg, cause: err}
}

var yamlLineRE = regexp.MustCompile(`\bline (\d+)\b`)

// yamlLine pulls the first "line N" out of a YAML library's message.
func yamlLine(msg string) int {
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// dumpRE matches Go's printing of decoded documents (map[...]..., a struct
// or slice literal) that kustomize and YAML libraries put in errors.
var dumpRE = regexp.MustCompile(`(?:map\[[^\]]*\]|\[\][\w.{} ]+|&?[\w.]+)?\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}`)

// quotedRE matches quoted text: backticks, double quotes (with escapes) and
// single quotes within a line.
var quotedRE = regexp.MustCompile("`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\"|'[^'\\n]*'")

// fileRefRE is what a quoted file reference looks like; only those are kept.
var fileRefRE = regexp.MustCompile(`^[\w.-]+(?:/[\w.-]+)*\.(?:ya?ml|json|tpl|txt|env|properties)$`)

// scrub removes the contents third-party errors quote: values a YAML
// decoder could not use, the node a kustomize patch did not apply to, a
// Helm template's text. Such contents can be a password. What remains is
// the kind of error; quoted file names are kept.
func scrub(msg string) string {
	for range 4 { // dumps nest; each pass removes two levels
		msg = dumpRE.ReplaceAllString(msg, "{…}")
	}
	return quotedRE.ReplaceAllStringFunc(msg, func(q string) string {
		inner := q[1 : len(q)-1]
		if fileRefRE.MatchString(inner) {
			return q
		}
		return q[:1] + "…" + q[len(q)-1:]
	})
}
