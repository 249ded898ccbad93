// Package gitcmd runs the git CLI for ferry. Every call gets the same
// hardening whatever package makes it: a fresh environment that inherits no
// GIT_* variable and ignores the user's and the system's git configuration,
// hooks and fsmonitor switched off, no prompts and no credential helpers,
// only the transports the caller allows, and errors that name the git
// command with its bounded, redacted output. Credentials a caller hands over
// (a token in an environment value) never appear in an error.
package gitcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// waitDelay bounds how long a cancelled git may keep its output pipes open
// (through a child such as git-remote-https) before they are closed.
const waitDelay = 5 * time.Second

// Options are what one git call needs besides its arguments.
type Options struct {
	// Dir is the repository or work tree git runs in (`git -C Dir`); empty
	// runs git in the current directory.
	Dir string
	// Env holds KEY=VALUE variables for this call only, on top of the
	// hardened environment (which they cannot override).
	Env []string
	// Secrets are strings, such as a token, that must never appear in an
	// error; URL credentials, Authorization headers and GitHub tokens are
	// redacted without being listed.
	Secrets []string
	// Stdin feeds git's standard input; nil reads nothing.
	Stdin io.Reader
	// Protocols are the transports git may use to reach a remote; "https"
	// alone when empty.
	Protocols []string
}

// Error is a git command that failed, with what it printed.
type Error struct {
	Command string // "git fetch"
	Err     error  // the exit status, or the context's error if it ended the command
	Output  string // bounded and redacted: standard error, then any captured standard output
}

func (e *Error) Error() string {
	if e.Output == "" {
		return e.Command + ": " + e.Err.Error()
	}
	return e.Command + ": " + e.Err.Error() + ": " + e.Output
}

func (e *Error) Unwrap() error { return e.Err }

// Output runs git with args and returns its standard output.
func Output(ctx context.Context, opts Options, args ...string) (string, error) {
	var stdout bytes.Buffer
	if err := run(ctx, opts, &stdout, args); err != nil {
		return "", err
	}
	return stdout.String(), nil
}

// Run runs git with args, discarding its standard output.
func Run(ctx context.Context, opts Options, args ...string) error {
	return run(ctx, opts, nil, args)
}

func run(ctx context.Context, opts Options, stdout *bytes.Buffer, args []string) error {
	cmd, stderr := command(ctx, opts, args)
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if err := cmd.Run(); err != nil {
		var out string
		if stdout != nil {
			out = stdout.String()
		}
		return newError(ctx, opts, args, err, stderr.String(), out)
	}
	return nil
}

// command builds the hardened exec.Cmd; its standard error goes to the
// returned bounded buffer.
func command(ctx context.Context, opts Options, args []string) (*exec.Cmd, *boundedBuffer) {
	full := make([]string, 0, len(hardening)+len(args)+2)
	if opts.Dir != "" {
		full = append(full, "-C", opts.Dir)
	}
	full = append(append(full, hardening...), args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = environ(opts.Env, opts.Protocols)
	cmd.Stdin = opts.Stdin
	stderr := &boundedBuffer{limit: maxCapture}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	return cmd, stderr
}

// hardening is configuration given on the command line, where it outranks
// the repository's own: no hooks, no fsmonitor command, no credential
// helpers (an empty value resets the list). With none of those able to
// run, a repository owned by another user (a CI checkout, which the user's
// own safe.directory, ignored with the global config, would have allowed)
// is safe to read, so git's ownership check is waived.
var hardening = []string{
	"-c", "core.hooksPath=" + devNull,
	"-c", "core.fsmonitor=false",
	"-c", "credential.helper=",
	"-c", "safe.directory=*",
}

func newError(ctx context.Context, opts Options, args []string, err error, stderr, stdout string) *Error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	out := strings.TrimSpace(stderr + " " + stdout)
	verb := "git"
	if len(args) > 0 {
		verb += " " + args[0]
	}
	return &Error{
		Command: Redact(verb, opts.Secrets...),
		Err:     redactedError{err, opts.Secrets},
		Output:  clip(Redact(out, opts.Secrets...)),
	}
}

// redactedError keeps the error's identity (errors.Is, errors.As) and
// redacts its text.
type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string { return Redact(e.err.Error(), e.secrets...) }
func (e redactedError) Unwrap() error { return e.err }

// Process is a git command started with pipes, such as a long-lived
// `git cat-file --batch`.
type Process struct {
	Stdin  io.WriteCloser
	Stdout io.ReadCloser

	cmd    *exec.Cmd
	ctx    context.Context
	opts   Options
	args   []string
	stderr *boundedBuffer
}

// Start starts git with args and pipes to its standard input and output.
// The process ends when ctx is done or Close is called.
func Start(ctx context.Context, opts Options, args ...string) (*Process, error) {
	opts.Stdin = nil
	cmd, stderr := command(ctx, opts, args)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, newError(ctx, opts, args, err, "", "")
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, newError(ctx, opts, args, err, "", "")
	}
	if err := cmd.Start(); err != nil {
		return nil, newError(ctx, opts, args, err, "", "")
	}
	return &Process{Stdin: stdin, Stdout: stdout, cmd: cmd, ctx: ctx, opts: opts, args: args, stderr: stderr}, nil
}

// Close closes both pipes, so git ends even in the middle of an answer,
// and waits for it. The error is git's if it failed; a process stopped in
// the middle of an answer reports a broken pipe.
func (p *Process) Close() error {
	_ = p.Stdin.Close() // the caller may have closed it already
	_ = p.Stdout.Close()
	if err := p.cmd.Wait(); err != nil {
		return newError(p.ctx, p.opts, p.args, err, p.stderr.String(), "")
	}
	return nil
}
