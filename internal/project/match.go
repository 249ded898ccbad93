package project

import "strings"

// match reports whether s matches the glob pattern: "*" matches any run
// of characters ("/" included), "?" any one character.
func match(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	p, v := 0, 0
	star, mark := -1, 0
	for v < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[v]):
			p++
			v++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, v
			p++
		case star >= 0:
			p = star + 1
			mark++
			v = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// isDeny reports whether a pattern denies what it names ("!kube-system").
func isDeny(pattern string) bool { return strings.HasPrefix(pattern, "!") }

// matchNegatable matches pattern, a "!" pattern matching what it does
// not name.
func matchNegatable(pattern, s string) bool {
	if isDeny(pattern) {
		return !match(pattern[1:], s)
	}
	return match(pattern, s)
}

// normalizeURL makes repository URLs comparable: lower case, without a
// trailing "/" or ".git".
func normalizeURL(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	u = strings.TrimSuffix(u, "/")
	return strings.TrimSuffix(u, ".git")
}
