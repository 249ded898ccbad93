package kustomization

import (
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
