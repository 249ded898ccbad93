package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
)

// gitSubdir is the Git cache under CacheDir: a directory per repository
// (the SHA-256 of its normalized URL) holding one bare repository per
// commit, named by the commit.
const gitSubdir = "git"

// gitLockName is the lock file of a repository's directory: whoever holds
// it is fetching into it.
const gitLockName = ".lock"

// gitFetchedRef keeps the fetched commit reachable in its bare repository.
const gitFetchedRef = "refs/ferry/fetched"

var (
	fullCommitRE  = regexp.MustCompile(`^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
	shortCommitRE = regexp.MustCompile(`^[0-9a-fA-F]{4,39}$`)
)

// gitTemp is where Git trees go when there is no CacheDir: one temporary
// directory per Fetcher, made on first use.
type gitTemp struct {
	once sync.Once
	dir  string
	err  error
}

// gitRemote is one repository as a fetch talks to it.
type gitRemote struct {
	url string // what git fetches: scheme, host and path, nothing else
	dir string // its directory in the Git cache
	// opts carry the credentials (environment only) and the one transport.
	opts gitcmd.Options
}

// Git fetches the commit that ref (a branch, a tag, a full or abbreviated
// commit; "" is the default branch) names in the Git repository at url,
// which must be an allowed http(s) repository: nothing is requested
// otherwise. It fetches that commit alone (depth 1) into a bare repository
// of the cache, within Config.MaxBytes and Config.Timeout. A commit already
// fetched is used without any request: a full commit id needs none, a
// branch or tag one `git ls-remote` (whose answer is reused for IndexTTL).
func (f *Fetcher) Git(ctx context.Context, url, ref string) (*GitTree, error) {
	r, err := f.gitRemote(url, ref)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	commit, name, err := f.resolveRef(ctx, r, ref)
	if err == nil {
		var dir string
		if dir, err = f.fetchCommit(ctx, r, commit, name); err == nil {
			return &GitTree{URL: r.url, Commit: commit, Dir: dir}, nil
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w (timed out: the fetch timeout is %s)", err, f.cfg.Timeout)
	}
	return nil, err
}

// gitRemote checks url and ref, finds the allowlist entry of url and
// prepares the git environment with its credentials. It sends nothing.
func (f *Fetcher) gitRemote(raw, ref string) (*gitRemote, error) {
	clean, scheme, err := gitURL(raw)
	if err != nil {
		return nil, err
	}
	if err := checkGitRef(ref); err != nil {
		return nil, fmt.Errorf("%s: %w", clean, err)
	}
	repo, err := f.cfg.Repositories.Match(clean)
	if err != nil {
		return nil, err
	}
	env, secrets, err := gitAuth(repo, clean)
	if err != nil {
		return nil, err
	}
	root, err := f.gitRoot()
	if err != nil {
		return nil, fmt.Errorf("git cache: %w", err)
	}
	sum := sha256.Sum256([]byte(Normalize(clean)))
	return &gitRemote{
		url:  clean,
		dir:  filepath.Join(root, hex.EncodeToString(sum[:16])),
		opts: gitcmd.Options{Env: env, Secrets: secrets, Protocols: []string{scheme}},
	}, nil
}

// gitURL checks that raw is an http(s) repository URL without credentials,
// query or fragment, and returns it with its scheme.
func gitURL(raw string) (string, string, error) {
	raw = strings.TrimSpace(raw)
	scheme, _, _ := strings.Cut(strings.ToLower(raw), "://")
	if scheme != "https" && scheme != "http" {
		return "", "", fmt.Errorf("%s: ferry fetches Git repositories over HTTPS only (no SSH or local repositories); write it as https://host/org/repo", gitcmd.Redact(raw))
	}
	if hasUserinfo(raw) {
		return "", "", errors.New("a Git repository URL cannot carry credentials: the server configuration's repositories give them")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("Git repository URL %s is not a URL", raw)
	}
	switch {
	case u.Host == "" || strings.Trim(u.Path, "/") == "":
		return "", "", fmt.Errorf("%s is not a Git repository URL: it has no host or no path", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", fmt.Errorf("%s is not a Git repository URL: it has a query or a fragment", raw)
	case hasDotSegment(u.Path) || strings.Contains(u.Path, "\\"):
		// The allowlist compares URLs as written; the server would see
		// the path with "." and ".." removed.
		return "", "", fmt.Errorf("%s is not a Git repository URL: its path has \".\" or \"..\" in it", raw)
	}
	u.Scheme = scheme
	return u.String(), scheme, nil
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// checkGitRef refuses a revision git could read as an option or that no
// ref could be named (git check-ref-format's rules, and no option).
func checkGitRef(ref string) error {
	bad := strings.HasPrefix(ref, "-") || strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") ||
		strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") || len(ref) > 255 ||
		strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.Contains(ref, "//") ||
		strings.ContainsAny(ref, " ~^:?*[\\\x7f")
	for _, c := range ref {
		bad = bad || c < 0x20
	}
	if bad {
		return fmt.Errorf("revision %q is not a branch, tag or commit name", ref)
	}
	return nil
}

// gitAuth is the environment of every git command for repo: configuration
// through GIT_CONFIG_* variables (never the command line, never an error),
// with its credentials as an Authorization header for url's origin only,
// and the secrets to redact.
func gitAuth(repo Repository, rawURL string) (env, secrets []string, err error) {
	user, pass, err := repo.Credentials()
	if err != nil {
		return nil, nil, err
	}
	cfg := [][2]string{
		{"http.followRedirects", "false"}, // only the allowed host is ever asked
		{"protocol.version", "2"},
		{"gc.auto", "0"},
		{"maintenance.auto", "false"},
		{"transfer.fsckObjects", "true"},
		{"fetch.recurseSubmodules", "false"},
	}
	if user != "" || pass != "" {
		u, _ := url.Parse(rawURL) // gitURL parsed it
		token := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		cfg = append(cfg, [2]string{"http." + u.Scheme + "://" + u.Host + "/.extraHeader", "Authorization: Basic " + token})
		secrets = []string{pass, token}
	}
	env = []string{"GIT_CONFIG_COUNT=" + strconv.Itoa(len(cfg))}
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env, secrets, nil
}

// gitRoot is the Git cache's directory.
func (f *Fetcher) gitRoot() (string, error) {
	if f.cfg.CacheDir != "" {
		return filepath.Join(f.cfg.CacheDir, gitSubdir), nil
	}
	f.gitTemp.once.Do(func() { f.gitTemp.dir, f.gitTemp.err = os.MkdirTemp("", "ferry-git-") })
	return f.gitTemp.dir, f.gitTemp.err
}

// gitRefRecord is a revision's commit as `git ls-remote` answered, kept
// for IndexTTL.
type gitRefRecord struct {
	Commit string `json:"commit"`
	// Name is the ref that named it ("refs/tags/v1"), fetched when the
	// server will not send a commit by its id; "" for a commit id.
	Name string `json:"name,omitempty"`
}

func gitRefKey(repoURL, ref string) string { return "gitref\x00" + Normalize(repoURL) + "\x00" + ref }

// resolveRef returns the commit ref names and the ref it was found as.
func (f *Fetcher) resolveRef(ctx context.Context, r *gitRemote, ref string) (string, string, error) {
	if fullCommitRE.MatchString(ref) {
		return strings.ToLower(ref), "", nil
	}
	var rec gitRefRecord
	if f.cache.getJSON(gitRefKey(r.url, ref), &rec, IndexTTL) && fullCommitRE.MatchString(rec.Commit) {
		return rec.Commit, rec.Name, nil
	}
	commit, name, err := lsRemote(ctx, r, ref)
	if errors.Is(err, errNoSuchRef) && shortCommitRE.MatchString(ref) {
		commit, err = f.resolveShort(ctx, r, strings.ToLower(ref))
	}
	if err != nil {
		return "", "", err
	}
	_ = f.cache.putJSON(gitRefKey(r.url, ref), gitRefRecord{Commit: commit, Name: name}, true)
	return commit, name, nil
}

var errNoSuchRef = errors.New("no branch or tag of that name")

// lsRemote asks the repository which commit ref names, preferring what
// `git fetch` would: the ref itself, then a tag, then a branch; an
// annotated tag is its commit.
func lsRemote(ctx context.Context, r *gitRemote, ref string) (string, string, error) {
	pattern := ref
	if ref == "" {
		pattern = "HEAD"
	}
	// An annotated tag's commit is listed as its peeled "^{}" entry.
	out, err := gitcmd.Output(ctx, r.opts, "ls-remote", "--end-of-options", r.url, pattern, pattern+"^{}")
	if err != nil {
		return "", "", fmt.Errorf("resolve %q in %s: %w", ref, r.url, err)
	}
	refs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if id, name, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok && fullCommitRE.MatchString(id) {
			refs[name] = id
		}
	}
	for _, name := range refCandidates(ref) {
		if id, ok := refs[name+"^{}"]; ok {
			return id, name, nil
		}
		if id, ok := refs[name]; ok {
			return id, name, nil
		}
	}
	return "", "", fmt.Errorf("%q in %s: %w", ref, r.url, errNoSuchRef)
}

// refCandidates are the refs git tries for a name, in its order.
func refCandidates(ref string) []string {
	if ref == "" || ref == "HEAD" {
		return []string{"HEAD"}
	}
	return []string{ref, "refs/" + ref, "refs/tags/" + ref, "refs/heads/" + ref, "refs/remotes/" + ref, "refs/remotes/" + ref + "/HEAD"}
}

// resolveShort finds the commit an abbreviated id names: among the
// commits fetched before, or else in the whole repository's branches and
// tags (which the server sends only in full, within MaxBytes), kept as
// that commit's repository.
func (f *Fetcher) resolveShort(ctx context.Context, r *gitRemote, short string) (string, error) {
	entries, _ := os.ReadDir(r.dir)
	var found []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), short) && fullCommitRE.MatchString(e.Name()) {
			found = append(found, e.Name())
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	var commit string
	err := f.intoCache(ctx, r, func(tmp string) (string, error) {
		refspecs := []string{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
		if err := f.watchedFetch(ctx, r, tmp, false, refspecs...); err != nil {
			return "", err
		}
		out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: tmp}, "rev-parse", "--verify", "--quiet", "--end-of-options", short+"^{commit}")
		if err != nil {
			return "", fmt.Errorf("%q in %s: no branch, tag or commit of that name", short, r.url)
		}
		commit = strings.TrimSpace(out)
		return commit, gitcmd.Run(ctx, gitcmd.Options{Dir: tmp}, "update-ref", gitFetchedRef, commit)
	})
	return commit, err
}

// errPresent ends a fetch that another one finished first.
var errPresent = errors.New("already fetched")

// fetchCommit returns the bare repository holding commit, fetching it
// unless it is in the cache. name is the ref it was resolved from, fetched
// instead when the server will not send a commit by its id.
func (f *Fetcher) fetchCommit(ctx context.Context, r *gitRemote, commit, name string) (string, error) {
	final := filepath.Join(r.dir, commit)
	if isDir(final) {
		f.touch(final)
		return final, nil
	}
	err := f.intoCache(ctx, r, func(tmp string) (string, error) {
		if isDir(final) {
			return "", errPresent
		}
		err := f.watchedFetch(ctx, r, tmp, true, commit+":"+gitFetchedRef)
		if err != nil && name != "" && !errors.Is(err, ErrTooLarge) {
			err = f.watchedFetch(ctx, r, tmp, true, "+"+name+":"+gitFetchedRef)
		}
		if err != nil {
			return "", err
		}
		out, err := gitcmd.Output(ctx, gitcmd.Options{Dir: tmp}, "rev-parse", "--verify", gitFetchedRef+"^{commit}")
		if err != nil {
			return "", fmt.Errorf("%s: fetched no commit: %w", r.url, err)
		}
		if got := strings.TrimSpace(out); got != commit {
			return "", fmt.Errorf("%s: %s moved from %.12s to %.12s while it was fetched; try again", r.url, name, commit, got)
		}
		return commit, nil
	})
	if err != nil && !errors.Is(err, errPresent) {
		return "", err
	}
	f.touch(final)
	return final, nil
}

// intoCache fills a new bare repository under r's lock (fill returns the
// commit it fetched) and keeps it as that commit's repository, unless it
// is over MaxBytes.
func (f *Fetcher) intoCache(ctx context.Context, r *gitRemote, fill func(tmp string) (string, error)) error {
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return fmt.Errorf("git cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(r.dir, gitLockName), true)
	if err != nil {
		return fmt.Errorf("git cache: waiting for another fetch of %s: %w", r.url, err)
	}
	defer unlock()
	tmp, err := os.MkdirTemp(r.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("git cache: %w", err)
	}
	defer os.RemoveAll(tmp) // gone already once renamed into place
	if err := gitcmd.Run(ctx, gitcmd.Options{}, "init", "--bare", "--quiet", "--template=", tmp); err != nil {
		return fmt.Errorf("git cache: %w", err)
	}
	commit, err := fill(tmp)
	if err != nil {
		return err
	}
	if dirSize(tmp) > f.cfg.MaxBytes {
		return tooLarge("Git fetch of "+r.url, f.cfg.MaxBytes)
	}
	final := filepath.Join(r.dir, commit)
	if err := os.Rename(tmp, final); err != nil && !isDir(final) {
		return fmt.Errorf("git cache: %w", err)
	}
	f.evictGit(filepath.Dir(r.dir), final)
	return nil
}

// watchedFetch runs `git fetch` of refspecs from r into the bare
// repository dir, and stops it as soon as dir grows over MaxBytes.
func (f *Fetcher) watchedFetch(ctx context.Context, r *gitRemote, dir string, shallow bool, refspecs ...string) error {
	args := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head"}
	if shallow {
		args = append(args, "--depth=1")
	}
	args = append(append(args, "--end-of-options", r.url), refspecs...)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if dirSize(dir) > f.cfg.MaxBytes {
					cancel(tooLarge("Git fetch of "+r.url, f.cfg.MaxBytes))
					return
				}
			}
		}
	}()
	opts := r.opts
	opts.Dir = dir
	err := gitcmd.Run(ctx, opts, args...)
	close(stop)
	wg.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, ErrTooLarge) {
		return cause
	}
	if err != nil {
		return fmt.Errorf("fetch %s from %s: %w", strings.Join(refspecs, " "), r.url, err)
	}
	return nil
}
