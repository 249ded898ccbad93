package gitcmd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var author = []string{
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@ferry.invalid",
	"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@ferry.invalid",
}

// repo makes a repository with one commit holding a.txt and returns its
// directory and the commit.
func repo(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	must := func(args ...string) string {
		t.Helper()
		out, err := Output(ctx, Options{Dir: dir, Env: author}, args...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	must("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must("add", "a.txt")
	must("commit", "-qm", "first")
	return dir, must("rev-parse", "HEAD")
}

func TestEnvironment(t *testing.T) {
	t.Setenv("GIT_DIR", "/elsewhere")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.hookspath'='/tmp'")
	t.Setenv("GIT_SSH_COMMAND", "touch /tmp/pwned")
	t.Setenv("GIT_TRACE_PACKET", "/tmp/trace")
	t.Setenv("HOME", "/home/someone")
	t.Setenv("https_proxy", "http://proxy.invalid:3128")
	env := environ([]string{"GIT_AUTHOR_NAME=ferry", "GIT_CONFIG_NOSYSTEM=0", "HOME=/root"}, nil)
	last := map[string]string{} // exec uses the last value of a key
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	want := map[string]string{
		"HOME": devNull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": devNull,
		"GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1", "GIT_ASKPASS": "true",
		"LC_ALL": "C", "GIT_ALLOW_PROTOCOL": "https", "GIT_AUTHOR_NAME": "ferry",
		"GIT_TRACE_PACKET": "/tmp/trace", "https_proxy": "http://proxy.invalid:3128",
	}
	for k, v := range want {
		if last[k] != v {
			t.Errorf("%s=%q, want %q", k, last[k], v)
		}
	}
	for _, k := range []string{"GIT_DIR", "GIT_CONFIG_PARAMETERS", "GIT_SSH_COMMAND"} {
		if _, ok := last[k]; ok {
			t.Errorf("%s was inherited", k)
		}
	}
	if got := environ(nil, []string{"http", "https"}); !slices.Contains(got, "GIT_ALLOW_PROTOCOL=http:https") {
		t.Errorf("protocols not passed: %v", got)
	}
}

// TestHardening checks against git itself that the user's configuration,
// the environment and the repository's hooks change nothing.
func TestHardening(t *testing.T) {
	dir, head := repo(t)
	home := t.TempDir()
	global := filepath.Join(home, ".gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tname = leaked\n[alias]\n\tpwn = !touch pwned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	t.Setenv("GIT_DIR", t.TempDir())
	hook := filepath.Join(dir, ".git", "hooks", "post-commit")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\ntouch \"$0.ran\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Output(ctx, Options{Dir: dir}, "config", "user.name"); err == nil {
		t.Error("the global configuration was read")
	}
	if got, err := Output(ctx, Options{Dir: dir}, "rev-parse", "HEAD"); err != nil || strings.TrimSpace(got) != head {
		t.Errorf("rev-parse HEAD = %q, %v; want %s (GIT_DIR inherited?)", got, err, head)
	}
	if err := Run(ctx, Options{Dir: dir, Env: author}, "commit", "-q", "--allow-empty", "-m", "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(hook + ".ran"); err == nil {
		t.Error("the repository's post-commit hook ran")
	}
}

func TestProtocols(t *testing.T) {
	dir, head := repo(t)
	ctx := context.Background()
	err := Run(ctx, Options{}, "ls-remote", "file://"+dir)
	if err == nil || !strings.Contains(err.Error(), "transport 'file' not allowed") {
		t.Errorf("ls-remote file:// = %v, want the transport refused", err)
	}
	out, err := Output(ctx, Options{Protocols: []string{"file"}}, "ls-remote", "file://"+dir, "HEAD")
	if err != nil || !strings.HasPrefix(out, head) {
		t.Errorf("ls-remote with file allowed = %q, %v", out, err)
	}
}

func TestErrors(t *testing.T) {
	dir, _ := repo(t)
	const secret = "s3cr3t-value"
	tests := []struct {
		name    string
		arg     string
		secrets []string
		hidden  string
	}{
		{"listed secret", "x-" + secret, []string{secret}, secret},
		{"url credentials", "https://user:p4ss@example.invalid/r", nil, "p4ss"},
		{"github token", "ghs_abcdefghijklmnopqrstuvwxyz0123", nil, "ghs_abcdefghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Output(context.Background(), Options{Dir: dir, Secrets: tt.secrets}, "rev-parse", tt.arg)
			var gitErr *Error
			if !errors.As(err, &gitErr) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if gitErr.Command != "git rev-parse" || !strings.HasPrefix(err.Error(), "git rev-parse: exit status 128: ") {
				t.Errorf("error %q does not name the command and its status", err)
			}
			if !strings.Contains(err.Error(), "fatal: ") {
				t.Errorf("error %q lacks git's message", err)
			}
			if strings.Contains(err.Error(), tt.hidden) {
				t.Errorf("error %q shows %q", err, tt.hidden)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"fatal: https://x-access-token:tok@github.com/a/b", "fatal: https://***@github.com/a/b"},
		{"Authorization: Basic eC1hY2Nlc3M6dG9r", "Authorization: Basic ***"},
		{"authorization: bearer abc.def", "authorization: bearer ***"},
		{"token ghp_0123456789abcdefghij0123 here", "token *** here"},
		{"github_pat_11ABCDEFG0123456789_abcdef", "***"},
		{"plain text with hunter2", "plain text with ***"},
		{"nothing secret", "nothing secret"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, "hunter2", ""); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBoundedOutput(t *testing.T) {
	b := &boundedBuffer{limit: 100}
	line := strings.Repeat("x", 29) + "\n"
	for range 10 {
		if n, err := b.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got := b.String(); got != strings.Repeat(line, 3) {
		t.Errorf("kept %q, want three whole lines", got)
	}
	long := strings.Repeat("line\n", 2000)
	if got := clip(long); len(got) > maxOutput+len("…") || !strings.HasSuffix(got, "line\n") || !strings.HasPrefix(got, "…line") {
		t.Errorf("clip kept %d bytes: %.20q…", len(got), got)
	}
}

func TestStdin(t *testing.T) {
	dir, _ := repo(t)
	out, err := Output(context.Background(), Options{Dir: dir, Stdin: strings.NewReader("hello\n")}, "hash-object", "--stdin")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Output(context.Background(), Options{Dir: dir}, "rev-parse", "HEAD:a.txt")
	if out != want {
		t.Errorf("hash-object of stdin = %q, want %q", out, want)
	}
}

func TestCancel(t *testing.T) {
	dir, _ := repo(t)
	r, w, err := os.Pipe() // a stdin that never ends keeps cat-file waiting
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = Run(ctx, Options{Dir: dir, Stdin: r}, "cat-file", "--batch")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "git cat-file: context deadline exceeded") {
		t.Errorf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancelled git took %v to end", d)
	}
}

func TestProcess(t *testing.T) {
	dir, head := repo(t)
	ctx := context.Background()
	p, err := Start(ctx, Options{Dir: dir}, "cat-file", "--batch")
	if err != nil {
		t.Fatal(err)
	}
	stdout := bufio.NewReader(p.Stdout)
	for range 2 {
		if _, err := io.WriteString(p.Stdin, head+":a.txt\n"); err != nil {
			t.Fatal(err)
		}
		header, _ := stdout.ReadString('\n')
		body := make([]byte, len("hello\n\n"))
		if _, err := io.ReadFull(stdout, body); err != nil || !strings.HasSuffix(header, " blob 6\n") || string(body) != "hello\n\n" {
			t.Fatalf("answer %q %q, %v", header, body, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}

	// Closing in the middle of a large answer does not hang.
	big := strings.Repeat("0123456789abcdef", 1<<16)
	if err := os.WriteFile(filepath.Join(dir, "big"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	id, err := Output(ctx, Options{Dir: dir}, "hash-object", "-w", "big")
	if err != nil {
		t.Fatal(err)
	}
	p, err = Start(ctx, Options{Dir: dir}, "cat-file", "--batch")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(p.Stdin, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on an unread answer")
	}
}
