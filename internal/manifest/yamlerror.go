package manifest

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// This file is ferry's one way of turning a YAML decoder's error into a
// file and line: every package that decodes YAML (rendered manifests,
// kustomizations, charts, .ferry.yaml) locates its errors here.

// YAMLError returns err, an error decoding data (the content of file), as
// a *ParseError at YAMLErrorLine(data, err). The message leaves out what
// the line now carries: yaml.v3's "yaml: " and "line N: " prefixes, and all
// but the first of a type error's list.
func YAMLError(file string, data []byte, err error) *ParseError {
	msg := err.Error()
	var te *yamlv3.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		digits, after, found := strings.Cut(rest, ": ")
		if _, convErr := strconv.Atoi(digits); convErr == nil && found {
			msg = after
		}
	}
	return &ParseError{File: file, Line: YAMLErrorLine(data, err), Err: errors.New(msg)}
}

// YAMLErrorLine returns the 1-based line that err, an error a YAML decoder
// (yaml.v2, yaml.v3, or kustomize, Helm and sigs.k8s.io/yaml passing their
// messages on) returned for data, points at; 0 when unknown.
//
// With data nil it is the first "line N" the message names. With data that
// does not parse, it is found in data instead: the first line whose prefix
// no longer parses (yaml.v3 names where the enclosing block starts, often
// line 1, and appending to YAML with a syntax error never repairs it), or
// in a file too long to search so, the offending token's line.
func YAMLErrorLine(data []byte, err error) int {
	if data != nil && !parses(data) {
		if l := firstBadLine(data); l > 0 {
			return l
		}
		if l := syntaxErrorLine(data, err); l > 0 {
			return l
		}
	}
	return messageLine(err.Error())
}

var messageLineRE = regexp.MustCompile(`\bline (\d+)\b`)

// messageLine is the first "line N" in a message, 0 if none.
func messageLine(msg string) int {
	m := messageLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// maxLocateLines bounds the quadratic search in firstBadLine.
const maxLocateLines = 1000

// firstBadLine returns the 1-based line that turns a parsable prefix of
// data into an unparsable one, or 0 when data is too long to search. The
// search runs from the end: a prefix that ends inside a flow collection
// does not parse either, so parsing is not monotonic in the prefix.
func firstBadLine(data []byte) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxLocateLines {
		return 0
	}
	for k := len(lines) - 1; k >= 0; k-- {
		if parses(bytes.Join(lines[:k], nil)) {
			return k + 1
		}
	}
	return 0
}

// parses reports whether data is a well-formed YAML stream.
func parses(data []byte) bool {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
}
