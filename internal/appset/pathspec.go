package appset

import "strings"

// pathspecMatch reports whether git ls-files would list name for pattern,
// as Argo CD's git files generator lists files: a pattern without
// wildcards matches the file itself or anything under the directory it
// names; otherwise it is matched whole, "*" and "?" matching "/" too.
func pathspecMatch(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?[\\") {
		p := strings.TrimSuffix(pattern, "/")
		return name == p || strings.HasPrefix(name, p+"/") || p == ""
	}
	return wildmatch(pattern, name)
}

// wildmatch matches "*" (any run, "/" included), "?" (one character),
// "[...]" classes ("!" or "^" negates, ranges) and "\" escapes. With one
// backtracking point it runs in time proportional to len(p)*len(s).
func wildmatch(p, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				for pi < len(p) && p[pi] == '*' {
					pi++
				}
				starP, starS = pi, si
				continue
			case '?':
				pi++
				si++
				continue
			case '[':
				if ok, next, valid := matchClass(p, pi, s[si]); valid {
					if ok {
						pi, si = next, si+1
						continue
					}
				} else if s[si] == '[' {
					pi++
					si++
					continue
				}
			case '\\':
				if pi+1 < len(p) && p[pi+1] == s[si] {
					pi += 2
					si++
					continue
				}
			default:
				if p[pi] == s[si] {
					pi++
					si++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		pi, si = starP, starS
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches c against the class starting at p[i] == '['. valid
// is false when the class is not closed.
func matchClass(p string, i int, c byte) (ok bool, next int, valid bool) {
	j := i + 1
	negate := j < len(p) && (p[j] == '!' || p[j] == '^')
	if negate {
		j++
	}
	first := true
	for j < len(p) && (first || p[j] != ']') {
		first = false
		lo := p[j]
		if lo == '\\' && j+1 < len(p) {
			j++
			lo = p[j]
		}
		hi := lo
		if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
			hi = p[j+2]
			j += 2
		}
		if lo <= c && c <= hi {
			ok = true
		}
		j++
	}
	if j >= len(p) {
		return false, 0, false
	}
	return ok != negate, j + 1, true
}
