package secrets

import (
	"math"
	"regexp"
	"strings"
)

// placeholderWords are values people write where the real one goes later.
var placeholderWords = map[string]bool{
	"changeme": true, "changeit": true, "replaceme": true, "placeholder": true,
	"todo": true, "tbd": true, "fixme": true, "dummy": true, "example": true,
	"secret": true, "password": true, "passwd": true, "token": true,
	"null": true, "none": true, "nil": true, "redacted": true, "test": true,
	"yourpassword": true, "yoursecret": true, "yourtoken": true, "yourapikey": true,
	"mypassword": true, "notasecret": true, "notsecret": true,
}

// placeholderParts mark a value as a placeholder wherever they appear.
var placeholderParts = []string{"changeme", "replaceme", "placeholder", "yourpassword", "yoursecret", "yourtoken", "yourapikey", "insertyour", "notarealsecret"}

// templateRE matches values substituted later: ${VAR}, $VAR, {{ .Values.x }},
// %VAR%, <password>, @VAR@.
var templateRE = regexp.MustCompile(`\$\{[^}]*\}|^\$[A-Za-z_][A-Za-z0-9_]*$|\{\{.*\}\}|^%[A-Za-z_][A-Za-z0-9_]*%$|^<[^<>]+>$|^@[A-Za-z_][A-Za-z0-9_]*@$`)

// isPlaceholder reports whether a value stands in for a secret rather than
// being one: empty, a template, a well-known filler word, or one character
// repeated (xxx, ****, 000000).
func isPlaceholder(v string) bool {
	v = strings.Trim(strings.TrimSpace(v), `"'`)
	if v == "" || templateRE.MatchString(v) {
		return true
	}
	norm := strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(strings.ToLower(v))
	if placeholderWords[norm] {
		return true
	}
	for _, p := range placeholderParts {
		if strings.Contains(norm, p) {
			return true
		}
	}
	return repeated(v)
}

func repeated(v string) bool {
	for i := 1; i < len(v); i++ {
		if v[i] != v[0] {
			return false
		}
	}
	return true
}

// minSecretLength and minSecretEntropy gate helm-values-secret. A value
// shorter or more repetitive than this is a word, a flag or a name; a real
// generated credential is long and close to random.
const (
	minSecretLength  = 8
	minSecretEntropy = 3.0
)

// looksRandom reports whether a value looks like a generated credential.
func looksRandom(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= minSecretLength && shannonEntropy(v) >= minSecretEntropy && !strings.ContainsAny(v, " \t\n")
}

// shannonEntropy is bits per character, as gitleaks computes it.
func shannonEntropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var e float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		e -= p * math.Log2(p)
	}
	return e
}
