package repofs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
)

// OpenGit reads the tree of rev in the repository at gitDir (a bare mirror or
// a work tree's repository) without checking anything out. File contents are
// read lazily through one long-lived `git cat-file --batch`, so a render that
// touches ten files of a huge repository reads ten blobs.
func OpenGit(ctx context.Context, gitDir, rev string) (*Tree, error) {
	commit := rev
	if !commitID.MatchString(rev) {
		out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir}, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
		if err != nil {
			return nil, fmt.Errorf("resolve revision %q: %w", rev, err)
		}
		commit = strings.TrimSpace(out)
	}
	out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir}, "ls-tree", "-r", "-l", "-z", "--full-tree", commit+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("list tree of %s: %w", commit, err)
	}
	entries := map[string]entry{}
	for _, rec := range strings.Split(out, "\x00") {
		if rec == "" {
			continue
		}
		// "<mode> SP <type> SP <object> SP+ <size> TAB <path>"
		meta, name, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		fields := strings.Fields(meta)
		if len(fields) != 4 || fields[1] != "blob" {
			continue // submodules (commit entries) are not part of the tree we render
		}
		size, _ := strconv.ParseInt(fields[3], 10, 64)
		kind := kindFile
		if fields[0] == "120000" {
			kind = kindSymlink
		}
		entries[name] = entry{kind: kind, size: size, id: fields[2]}
	}
	return newTree(commit, entries, &gitSource{dir: gitDir}), nil
}

// commitID is a full object id, which needs no rev-parse: ls-tree of
// "<id>^{commit}" reads that commit's tree and fails for anything else.
var commitID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// objectID is a blob's id in a Listing (SHA-1 or SHA-256 repositories).
var objectID = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// ResolveCommit returns the full commit id of rev.
func ResolveCommit(ctx context.Context, gitDir, rev string) (string, error) {
	out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir}, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("resolve revision %q: %w", rev, err)
	}
	return strings.TrimSpace(out), nil
}

// MergeBase returns the best common ancestor of two commits, which is what a
// pull request's diff is taken against.
func MergeBase(ctx context.Context, gitDir, a, b string) (string, error) {
	out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: gitDir}, "merge-base", a, b)
	if err != nil {
		return "", fmt.Errorf("merge-base %s %s: %w", a, b, err)
	}
	return strings.TrimSpace(out), nil
}

type gitSource struct {
	dir string

	mu     sync.Mutex
	cmd    *gitcmd.Process
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// start starts the cat-file process. It lives as long as the tree, past
// the call that opened it, so no caller's context bounds it: close ends it.
func (g *gitSource) start() error {
	cmd, err := gitcmd.Start(context.Background(), gitcmd.Options{Dir: g.dir}, "cat-file", "--batch")
	if err != nil {
		return err // names git cat-file
	}
	g.cmd, g.stdin, g.stdout = cmd, cmd.Stdin, bufio.NewReaderSize(cmd.Stdout, 64<<10)
	return nil
}

func (g *gitSource) load(name string, e entry) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		if err := g.start(); err != nil {
			return nil, err
		}
	}
	if _, err := io.WriteString(g.stdin, e.id+"\n"); err != nil {
		g.reset()
		return nil, fmt.Errorf("cat-file %s: %w", name, err)
	}
	data, err := g.readObject(name)
	if err != nil {
		g.reset()
		return nil, err
	}
	return data, nil
}

// loadMany pipelines requests: a writer feeds every object id to cat-file
// while this goroutine reads the answers, so n files cost one round trip.
func (g *gitSource) loadMany(names []string, entries []entry) ([][]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		if err := g.start(); err != nil {
			return nil, err
		}
	}
	writeErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(g.stdin, 64<<10)
		for _, e := range entries {
			if _, err := w.WriteString(e.id + "\n"); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- w.Flush()
	}()
	out := make([][]byte, len(names))
	for i, name := range names {
		data, err := g.readObject(name)
		if err != nil {
			g.reset()
			<-writeErr
			return nil, err
		}
		out[i] = data
	}
	if err := <-writeErr; err != nil {
		g.reset()
		return nil, fmt.Errorf("cat-file: %w", err)
	}
	return out, nil
}

// readObject reads one "<id> blob <size>\n<content>\n" answer.
func (g *gitSource) readObject(name string) ([]byte, error) {
	header, err := g.stdout.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("cat-file %s: %w", name, err)
	}
	fields := strings.Fields(header)
	if len(fields) != 3 {
		return nil, fmt.Errorf("cat-file %s: %s", name, strings.TrimSpace(header))
	}
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cat-file %s: bad size in %q", name, header)
	}
	buf := make([]byte, size+1) // content plus the trailing newline
	if _, err := io.ReadFull(g.stdout, buf); err != nil {
		return nil, fmt.Errorf("cat-file %s: %w", name, err)
	}
	return buf[:size], nil
}

func (g *gitSource) reset() {
	if g.cmd != nil {
		_ = g.cmd.Close()
		g.cmd = nil
	}
}

func (g *gitSource) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reset()
	return nil
}
