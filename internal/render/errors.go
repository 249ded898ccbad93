package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Error locates a render failure; File/Line are set when known (repo-relative path).
type Error struct {
	Env  string
	File string
	Line int
	Err  error
	// Stack is the renderer's stack when it panicked, for the operator's
	// log (it may quote the repository's content); never in Error().
	Stack []byte
}

func (e *Error) Error() string { return gitcmd.Redact(e.message()) }

// message is the error before redaction: a URL a repository names may
// carry credentials (a fetch refuses it, and the refusal must not show them).
func (e *Error) message() string {
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

// errorf builds an *Error at a location with a message of ferry's own,
// which leaves the package as written; file may be empty and line zero.
func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Err: ownError{fmt.Errorf(format, args...)}}
}

// located wraps err at a location unless it already carries one.
func located(file string, line int, err error) error {
	var re *Error
	if errors.As(err, &re) {
		return err
	}
	var pe *manifest.ParseError
	if errors.As(err, &pe) {
		return &Error{File: pe.File, Line: pe.Line, Err: pe.Err}
	}
	return &Error{File: file, Line: line, Err: err}
}

// maxErrorMessage bounds messages taken from kustomize and helm.
const maxErrorMessage = 1000

// rewordedError keeps a third-party error as the cause while presenting a
// cleaned-up message (virtual paths made repo-relative, length capped).
// Its quoted contents are removed when it leaves the package (reduceError).
type rewordedError struct {
	msg   string
	cause error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.cause }

func reword(err error, msg string) error {
	msg = strings.TrimSpace(msg)
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage] + "… (truncated)"
	}
	return &rewordedError{msg: msg, cause: err}
}
