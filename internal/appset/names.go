package appset

import (
	"regexp"
	"strings"
)

var (
	invalidDNSChars = regexp.MustCompile(`[^-a-z0-9.]`)
	slugInvalid     = regexp.MustCompile(`[^a-z0-9-_]`)
	slugDashes      = regexp.MustCompile(`-+`)
)

// maxDNSName is the longest DNS-1123 subdomain.
const maxDNSName = 253

// sanitizeName is Argo CD's normalization of a name into a DNS-1123
// subdomain: lower-case, any other character becomes "-", at most 253
// characters, no leading or trailing "-" or ".". It gives the
// *Normalized parameters and the normalize template function.
func sanitizeName(name string) string {
	name = strings.ToLower(name)
	name = invalidDNSChars.ReplaceAllString(name, "-")
	if len(name) > maxDNSName {
		name = name[:maxDNSName]
	}
	return strings.Trim(name, "-.")
}

// slugify is Argo CD's slugify template function: slugify [maxSize
// [smartTruncate]] name, by default 50 characters cut at a "-" when one
// is near the end. It takes the name normalized, so only ASCII remains.
func slugify(args ...any) string {
	maxSize, smart, name := 50, true, ""
	for i, a := range args {
		switch {
		case i == len(args)-1:
			name, _ = a.(string)
		case i == 0:
			if n, ok := a.(int); ok {
				maxSize = n
			}
		case i == 1:
			if b, ok := a.(bool); ok {
				smart = b
			}
		}
	}
	s := slugInvalid.ReplaceAllString(sanitizeName(name), "-")
	s = strings.Trim(slugDashes.ReplaceAllString(s, "-"), "-_")
	if maxSize <= 0 || len(s) <= maxSize {
		return s
	}
	if !smart {
		return s[:maxSize]
	}
	if i := strings.LastIndex(s[:maxSize+1], "-"); i > 0 {
		return s[:i]
	}
	return s[:maxSize]
}
