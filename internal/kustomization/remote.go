package kustomization

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// IsURL reports a reference with a scheme: kustomize downloads http(s)
// URLs and clones the other schemes git understands.
func IsURL(ref string) bool { return strings.Contains(ref, "://") }

var scpUserRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// LooksLikeRepo reports the shapes kustomize's repository parser accepts
// without a scheme: go-getter's "git::" prefix, github.com paths and
// scp-style user@host:path. kustomize reads such a reference as a local
// file when there is one, and otherwise clones it.
func LooksLikeRepo(ref string) bool {
	l := strings.ToLower(ref)
	return strings.HasPrefix(l, "git::") || strings.HasPrefix(l, "github.com/") ||
		strings.HasPrefix(l, "github.com:") || scpUserRE.MatchString(ref)
}

// RepoURL is a remote reference (a base or component) as kustomize's
// repository parser reads it: the repository it clones, the directory in
// it and the revision.
type RepoURL struct {
	// Repo is what kustomize clones: "https://github.com/org/repo",
	// "git@github.com:org/repo.git", "https://dev.azure.com/o/p/_git/r".
	Repo string
	// Dir is the kustomization's directory in the repository, "" for its
	// root.
	Dir string
	// Ref is the ?ref= (or else ?version=) revision: a branch, tag or
	// commit; "" is the repository's default branch.
	Ref string
}

// ParseRepoURL splits a remote reference the way kustomize v5 does
// (api/internal/git.NewRepoSpecFromURL): a "git::" prefix is dropped;
// https://, http://, ssh:// and file:// URLs, scp-style user@host:path and
// github.com/org/repo are repositories; the repository ends at "_git/<name>"
// (Azure DevOps), at "//", after ".git", or else after two path segments;
// ?ref= wins over ?version=. It fails for anything kustomize would not
// clone. The ?timeout= and ?submodules= parameters are ignored.
func ParseRepoURL(ref string) (RepoURL, error) {
	if path.IsAbs(ref) {
		return RepoURL{}, errors.New("an absolute path is not a repository URL")
	}
	rest, query, _ := strings.Cut(ref, "?")
	host, rest, err := repoHost(rest)
	if err != nil {
		return RepoURL{}, err
	}
	segments := 2
	if host == fileScheme {
		segments = -1
	}
	repo, dir, err := repoPath(rest, segments)
	if err != nil {
		return RepoURL{}, err
	}
	return RepoURL{Repo: host + repo, Dir: dir, Ref: queryRef(query)}, nil
}

const (
	sshScheme   = "ssh://"
	httpsScheme = "https://"
	httpScheme  = "http://"
	fileScheme  = "file://"
)

// repoHost splits off the scheme, user and host, which end with the "/"
// or ":" that starts the path.
func repoHost(s string) (host, rest string, err error) {
	s, _ = cutPrefixFold(s, "git::")
	scheme := ""
	for _, p := range []string{sshScheme, httpsScheme, httpScheme, fileScheme} {
		if r, ok := cutPrefixFold(s, p); ok {
			scheme, s = p, r
			break
		}
	}
	user := scpUserRE.FindString(s)
	s = s[len(user):]
	l := strings.ToLower(s)
	github := strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:")
	scp := scheme == "" && (user != "" || github)
	if scheme == "" && !scp {
		return "", "", errors.New("not a repository URL: no scheme")
	}
	if scheme == fileScheme {
		return scheme, user + s, nil
	}
	host, rest = s, ""
	if i := pathSeparator(s, scp); i >= 0 {
		host, rest = s[:i+1], s[i+1:]
	}
	if github {
		if scheme == sshScheme || user != "" {
			scheme, host = "", "github.com:"
		} else {
			scheme, user, host = httpsScheme, "", "github.com/"
		}
	}
	if host == "" {
		return "", "", errors.New("not a repository URL: no host")
	}
	return scheme + user + host, rest, nil
}

// pathSeparator is where the host ends: at the first "/", or for an
// scp-style URL at a ":" before it.
func pathSeparator(s string, scp bool) int {
	i := strings.Index(s, "/")
	if scp {
		if c := strings.Index(s, ":"); i == -1 || (c > 0 && c < i) {
			i = c
		}
	}
	return i
}

// repoPath splits the path into the repository and the directory in it;
// segments is how many path segments the repository takes when no marker
// says (-1: all of them).
func repoPath(p string, segments int) (repo, dir string, err error) {
	switch {
	case strings.Contains(p, "_git/"):
		i := strings.Index(p, "_git/") + len("_git/")
		name, sub, _ := strings.Cut(p[i:], "/")
		repo, dir = p[:i]+name, sub
	case strings.Contains(p, "//"):
		repo, dir, _ = strings.Cut(p, "//")
	case strings.Contains(p, ".git"):
		i := strings.Index(p, ".git") + len(".git")
		repo, dir = p[:i], p[i:]
	case segments < 0:
		repo = p
	default:
		parts := strings.Split(p, "/")
		if len(parts) < segments {
			return "", "", fmt.Errorf("not a repository URL: %q has no organization and repository", p)
		}
		repo, dir = strings.Join(parts[:segments], "/"), strings.Join(parts[segments:], "/")
	}
	if repo == "" {
		return "", "", errors.New("not a repository URL: no repository path")
	}
	if first, _, _ := strings.Cut(path.Clean(strings.TrimPrefix(dir, "/")), "/"); first == ".." {
		return "", "", fmt.Errorf("the directory %q leaves the repository", dir)
	}
	return repo, strings.TrimPrefix(dir, "/"), nil
}

// queryRef is the revision in a reference's query: ref, else version.
func queryRef(query string) string {
	values, err := url.ParseQuery(query)
	if err != nil {
		return ""
	}
	if r := values.Get("ref"); r != "" {
		return r
	}
	return values.Get("version")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Parse decodes the kustomization file (its directory dir) from data, as
// Load does for a file of a tree: for files read from elsewhere, such as
// a remote base's repository.
func Parse(file, dir string, data []byte) (*File, error) {
	return parse(file, dir, data)
}
