// Package gitmirror keeps one bare mirror per repository under ferry's data
// directory and fetches into it exactly what a job needs. The installation
// token travels only in the environment of the git process that uses it: it
// is never written to the mirror's config, a remote URL, or a log.
package gitmirror

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
)

// Mirrors manages the bare mirrors under Dir.
type Mirrors struct {
	Dir string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New returns mirrors rooted at dir (created if missing).
func New(dir string) (*Mirrors, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("git mirrors dir: %w", err)
	}
	return &Mirrors{Dir: dir, locks: map[string]*sync.Mutex{}}, nil
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// Path is the mirror directory of repository "owner/name".
func (m *Mirrors) Path(fullName string) (string, error) {
	owner, name, _ := strings.Cut(fullName, "/")
	if !safeName.MatchString(fullName) || strings.Contains(fullName, "..") || owner == "." || name == "." {
		return "", fmt.Errorf("repository name %q is not owner/name", fullName)
	}
	return filepath.Join(m.Dir, strings.ToLower(fullName)+".git"), nil
}

func (m *Mirrors) lock(path string) func() {
	m.mu.Lock()
	l, ok := m.locks[path]
	if !ok {
		l = &sync.Mutex{}
		m.locks[path] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Fetch brings refspecs from cloneURL into the mirror of fullName and returns
// the mirror's path. Fetches of one repository are serialized; readers
// (git cat-file, ls-tree) may run alongside, which git supports.
func (m *Mirrors) Fetch(ctx context.Context, fullName, cloneURL, token string, refspecs ...string) (string, error) {
	dir, err := m.Path(fullName)
	if err != nil {
		return "", err
	}
	if err := checkCloneURL(cloneURL); err != nil {
		return "", err
	}
	unlock := m.lock(dir)
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := gitcmd.Run(ctx, gitcmd.Options{}, "init", "--bare", "--quiet", dir); err != nil {
			return "", fmt.Errorf("init mirror %s: %w", fullName, err)
		}
		// Mirrors only ever receive fetches: never let git gc in the middle of a read.
		if err := gitcmd.Run(ctx, gitcmd.Options{Dir: dir}, "config", "gc.auto", "0"); err != nil {
			return "", err
		}
	}
	args := append([]string{"fetch", "--quiet", "--no-tags", "--prune", "--no-write-fetch-head", cloneURL}, refspecs...)
	if err := gitcmd.Run(ctx, auth(dir, token), args...); err != nil {
		return "", fmt.Errorf("fetch %s: %w", fullName, err)
	}
	return dir, nil
}

// checkCloneURL accepts only http(s) URLs without credentials: git must not
// be handed another transport (file://, ext::, ssh) or a token in a URL.
func checkCloneURL(cloneURL string) error {
	u, err := url.Parse(cloneURL)
	if err != nil {
		// The text may hold credentials url.Parse could not isolate.
		return errors.New("clone url: want an http(s) URL without credentials")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		if u.User != nil {
			// Never echo credentials: a token may be the user or the password.
			u.User = url.User("***")
		}
		return fmt.Errorf("clone url %q: want an http(s) URL without credentials", u.String())
	}
	return nil
}

// Push pushes refspecs from the mirror to cloneURL with the token.
func (m *Mirrors) Push(ctx context.Context, fullName, cloneURL, token string, refspecs ...string) error {
	dir, err := m.Path(fullName)
	if err != nil {
		return err
	}
	if err := checkCloneURL(cloneURL); err != nil {
		return err
	}
	unlock := m.lock(dir)
	defer unlock()
	args := append([]string{"push", "--quiet", cloneURL}, refspecs...)
	if err := gitcmd.Run(ctx, auth(dir, token), args...); err != nil {
		return fmt.Errorf("push %s: %w", fullName, err)
	}
	return nil
}

// auth passes the token as an HTTP header through git's environment-only
// configuration (GIT_CONFIG_COUNT), so it is not in argv, the config or a
// URL, and lists it as a secret, so no error shows it. Only http(s) is
// allowed: checkCloneURL has refused any other transport.
func auth(dir, token string) gitcmd.Options {
	opts := gitcmd.Options{Dir: dir, Protocols: []string{"https", "http"}}
	if token == "" {
		return opts
	}
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token))
	opts.Env = []string{
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=http.extraHeader",
		"GIT_CONFIG_VALUE_0=" + header,
	}
	opts.Secrets = []string{token, header}
	return opts
}
