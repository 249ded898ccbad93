package render

import (
	"errors"
	"regexp"
	"strings"
)

// Errors leave the package reduced to a location (File, Line) and a
// message that says what kind of error it is without quoting the files:
// Kustomize, Helm and the YAML libraries quote node contents, values and
// whole documents into their messages, and those end up in pull request
// comments, check annotations, logs and stored sync records. A message of
// ferry's own (errorf) names only paths and limits and is kept as it is.

// ownError marks a message ferry wrote itself.
type ownError struct{ error }

func (e ownError) Unwrap() error { return e.error }

// reducedError presents a third-party error's reduced message and keeps
// the error as its cause, for errors.Is; only the message is ever shown.
type reducedError struct {
	msg   string
	cause error
}

func (e *reducedError) Error() string { return e.msg }
func (e *reducedError) Unwrap() error { return e.cause }

// reduceError is err as it may leave the package: an *Error whose
// message, unless ferry wrote it, is reduced by reduceMessage.
func reduceError(err error) error {
	if err == nil {
		return nil
	}
	var re *Error
	if !errors.As(err, &re) {
		return &Error{Err: &reducedError{msg: reduceMessage(err.Error()), cause: err}}
	}
	out := *re
	switch e := re.Err.(type) {
	case nil, ownError, *reducedError:
	default:
		out.Err = &reducedError{msg: reduceMessage(e.Error()), cause: e}
	}
	return &out
}

// dumpMarkers introduce a dump of a file's contents: what follows them on
// the line, and the lines after, are dropped.
var dumpMarkers = []string{"node contents:", "contents:", "content:", "in document", "document:", "has invalid utf8 bytes"}

// continuationRE matches the later lines of a message that itemize it
// without quoting contents: yaml.v3's "line N: ..." and Helm's schema
// errors ("- at '/path': ...", preceded by the chart's name).
var continuationRE = regexp.MustCompile(`^\s*(line \d+: |- at '|[\w.-]+:$)`)

// literalSourceRE is kustomize's message for a bad configMapGenerator
// literal, which quotes it without quotation marks.
var literalSourceRE = regexp.MustCompile(`(invalid literal source) .*?(, expected key=value)`)

// reduceMessage reduces a library's error message to its class and
// location: quoted text, Go value dumps ({...}, map[...], [...]) and
// anything after a dump marker are replaced by "…", except for what is
// known to be a path, a resource id or a function name.
func reduceMessage(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	var out []string
	for i, l := range lines {
		if i > 0 && !continuationRE.MatchString(l) {
			out = append(out, "…")
			break
		}
		l, cut := cutDump(l)
		out = append(out, reduceLine(literalSourceRE.ReplaceAllString(l, "$1 …$2")))
		if cut {
			break
		}
	}
	msg = strings.Join(out, "\n")
	if len(msg) > maxErrorMessage {
		msg = strings.ToValidUTF8(msg[:maxErrorMessage], "") + "… (truncated)"
	}
	return msg
}

// cutDump drops what follows a dump marker.
func cutDump(line string) (string, bool) {
	lower := strings.ToLower(line)
	cut := -1
	for _, m := range dumpMarkers {
		if i := strings.Index(lower, m); i >= 0 && (cut < 0 || i+len(m) < cut) {
			cut = i + len(m)
		}
	}
	if cut < 0 {
		return line, false
	}
	return strings.TrimRight(line[:cut], " ") + " …", true
}

// reduceLine replaces quoted text and value dumps in one line.
func reduceLine(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == '\'' && (apostrophe(line, i) || closingQuote(line, i) < 0):
			// Single quotes are apostrophes too, and close kustomize's
			// nested messages: only a pair quotes.
			b.WriteByte(c)
			i++
		case c == '"' || c == '`' || c == '\'':
			end := closingQuote(line, i)
			if end < 0 {
				// An unclosed quote runs to the end of the line.
				b.WriteString(line[i:i+1] + "…")
				return b.String()
			}
			inner := line[i+1 : end]
			if c == '\'' && strings.ContainsAny(inner, " \t") {
				// kustomize nests whole messages in single quotes
				// (err='...'): the quotes stay, the inside is reduced.
				b.WriteByte(c)
				i++
				continue
			}
			if c != '`' && safeQuoted(inner, b.String()) {
				b.WriteString(line[i : end+1])
			} else {
				b.WriteString(string(c) + "…" + string(c))
			}
			i = end + 1
		case c == '{' || c == '[' || strings.HasPrefix(line[i:], "map["):
			open := i
			if c == 'm' {
				open = i + len("map")
				b.WriteString("map")
			}
			end := closingBracket(line, open)
			if end < 0 {
				b.WriteString(line[open:open+1] + "…")
				return b.String()
			}
			inner := line[open+1 : end]
			if inner == "" || safeBracketed(inner) {
				b.WriteString(line[open : end+1])
			} else {
				b.WriteString(line[open:open+1] + "…" + line[end:end+1])
			}
			i = end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// apostrophe reports whether the quote at i is one inside a word (can't).
func apostrophe(s string, i int) bool {
	return i > 0 && i+1 < len(s) && isLetter(s[i-1]) && isLetter(s[i+1])
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// closingQuote finds the quote closing the one at i; Go's escapes are
// honoured in double quotes.
func closingQuote(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q == '"':
			j++
		case s[j] == q:
			return j
		}
	}
	return -1
}

// closingBracket finds the bracket closing the one at i, nested ones
// included.
func closingBracket(s string, i int) int {
	open := s[i]
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case open:
			depth++
		case closer:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

var (
	// repoPathRE is a file name or path ending in a manifest, chart or
	// configuration extension.
	repoPathRE = regexp.MustCompile(`^[\w@+./-]*\.(ya?ml|json|tpl|txt|env|properties|conf|cfg|ini|toml|sh|tgz|md|jsonnet|libsonnet)$`)
	// resourceIDRE is kustomize's resource id: Kind.version.[group]/name.[namespace].
	resourceIDRE = regexp.MustCompile(`^[A-Za-z0-9]+\.[a-z0-9]+\.(\[noGrp\]|[a-z0-9.-]+)/[a-z0-9.-]+\.(\[noNs\]|[a-z0-9-]+)$`)
	// nameRE is a function name, or a path or name from an environment's
	// definition.
	nameRE = regexp.MustCompile(`^[A-Za-z_][\w.\-/]{0,63}$`)
	// punctRE is a lone character a parser names: ',' ']' '-'.
	punctRE = regexp.MustCompile(`^[^\w\s]?$|^.$`)
	// namingContextRE ends the text before a quoted name that is code or
	// definition, not file contents: a template function, an environment's
	// source path or type, a Helm release name. Keys and fields are left
	// out: a key can be a value too.
	namingContextRE = regexp.MustCompile(`(function|source path|source type|release name) $`)
	// unknownFieldRE ends the text before the field a strict decoder did
	// not know (a typo in a kustomization); fieldNameRE is what such a
	// field looks like: letters, dotted.
	unknownFieldCtxRE = regexp.MustCompile(`unknown field $`)
	fieldNameRE       = regexp.MustCompile(`^[A-Za-z]{1,64}(\.[A-Za-z]{1,64}){0,8}$`)
	// charClassRE is a regular expression's character class a library
	// quotes in its message ([a-z0-9], [-a-z0-9]): ranges and punctuation.
	charClassRE = regexp.MustCompile(`^\^?([a-zA-Z0-9]-[a-zA-Z0-9]|[-._])+$`)
)

// safeQuoted reports whether a quoted text may stay: a repository path, a
// resource id, a lone character, a name in a context that makes it code or
// definition ("function \"foo\"", "source path \"overlays/x\""), or an
// unknown field's name made of letters ("unknown field \"namePrefx\"").
func safeQuoted(inner, before string) bool {
	if strings.Contains(inner, "..") {
		return false
	}
	if repoPathRE.MatchString(inner) || resourceIDRE.MatchString(inner) || punctRE.MatchString(inner) {
		return true
	}
	if unknownFieldCtxRE.MatchString(before) {
		return fieldNameRE.MatchString(inner)
	}
	return namingContextRE.MatchString(before) && nameRE.MatchString(inner)
}

// safeBracketed reports whether a bracketed text is one of kustomize's id
// parts ([noGrp], [noNs]), an index or a character class.
func safeBracketed(inner string) bool {
	switch inner {
	case "noGrp", "noNs":
		return true
	}
	return strings.Trim(inner, "0123456789") == "" || charClassRE.MatchString(inner)
}
