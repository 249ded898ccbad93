package environment

import "strings"

// SameRepo reports whether two git URLs name the same repository. They are
// compared by the repository's path on its host ("owner/name" on GitHub),
// ignoring scheme, user, host, port, a ".git" suffix, trailing slashes and
// case, so https://github.com/o/r, git@github.com:o/r.git and o/r all match.
// The host is ignored because Argo CD Applications name the repository the
// way their author clones it, and ferry only ever reads one forge.
func SameRepo(a, b string) bool {
	pa, pb := repoPath(a), repoPath(b)
	return pa != "" && pa == pb
}

// repoPath reduces a git URL to the repository's lowercased path on its host.
func repoPath(u string) string {
	s := strings.ToLower(strings.TrimSpace(u))
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if _, rest, ok := strings.Cut(s, "://"); ok {
		// scheme://[user@]host[:port]/path
		_, p, found := strings.Cut(rest, "/")
		if !found {
			return ""
		}
		s = p
	} else if colon, slash := strings.Index(s, ":"), strings.Index(s, "/"); colon >= 0 && (slash < 0 || colon < slash) {
		// scp-like [user@]host:path
		s = s[colon+1:]
	} else if host, p, found := strings.Cut(s, "/"); found && strings.Contains(host, ".") && strings.Contains(p, "/") {
		// host/owner/name without a scheme
		s = p
	}
	s = strings.Trim(s, "/")
	s = strings.TrimSuffix(s, ".git")
	return strings.Trim(s, "/")
}
