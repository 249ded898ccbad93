// Package chatops parses and explains the slash commands people write in
// pull request comments ("/ferry sync prod"). It is the pure half of
// chatops: it turns a comment body into commands and usage errors, says
// which permission each command needs, and renders help, usage and refusal
// text as GitHub markdown. Acting on the commands and replying is the
// caller's job.
//
// Anything a commenter wrote that ends up in a reply goes through Echo, so
// a reply can never mention people, reference issues or break out of its
// formatting on the commenter's behalf.
package chatops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/ferry-gitops/ferry/internal/markdown"
)

// Name is a command's name, always lower case.
type Name string

// The commands.
const (
	HelpCmd     Name = "help"
	DiffCmd     Name = "diff"
	SyncCmd     Name = "sync"
	RollbackCmd Name = "rollback"
	LockCmd     Name = "lock"
	UnlockCmd   Name = "unlock"
	HistoryCmd  Name = "history"
)

// prefix starts every command line.
const prefix = "/ferry"

// maxCommands bounds the /ferry lines read from one comment: each one may
// render, sync or reply, and a comment is up to 65536 characters.
const maxCommands = 10

// Command is one valid command line.
type Command struct {
	Name Name
	// Envs are diff's environments, in the order given without
	// duplicates; none means every environment the pull request changes.
	Envs []string
	// Env is the environment of sync, rollback, lock, unlock and history.
	Env string
	// Revision is rollback's target: a lower-case hex SHA prefix, or a
	// history id as "#12". Empty means the revision before the current.
	Revision string
	// Reason is lock's free text after the environment, as written.
	Reason string
	// Live asks diff to compare against the live cluster too.
	Live bool
	// Line is the 1-based line of the comment the command is on.
	Line int
	// Raw is the line as written, without surrounding space. It is the
	// commenter's text: show it only through Echo.
	Raw string
}

// HistoryID returns the history entry a rollback names by id ("#12").
func (c Command) HistoryID() (int64, bool) {
	id, ok := strings.CutPrefix(c.Revision, "#")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(id, 10, 64)
	return n, err == nil
}

// UsageError is a line that starts with /ferry but is not a valid command.
type UsageError struct {
	Line int
	// Raw is the line as written: show it only through Echo.
	Raw string
	// Message says what is wrong and how to write it instead, as markdown
	// that is safe to post: commenter text in it is already neutralised.
	Message string
	// Suggestion is the command meant by a misspelt name, like
	// "/ferry sync"; empty when none is close enough.
	Suggestion string
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("line %d: %s", e.Line, e.Message)
}

// Markdown is the error as a line of a reply, echoing the offending line.
// It never starts with /ferry, so ferry's own replies are not commands.
func (e *UsageError) Markdown() string {
	return fmt.Sprintf("Line %d, %s: %s", e.Line, Echo(e.Raw), e.Message)
}

// spec describes one command; specs is the immutable table of them, in
// the order help lists them.
type spec struct {
	name  Name
	args  string // the usage after "/ferry NAME"
	need  Permission
	about string // markdown for Help
}

var specs = [...]spec{
	{HelpCmd, "", Read, "List these commands."},
	{DiffCmd, " [ENV...] [--live]", Read, "Re-render the pull request and refresh ferry's comment; with `--live` (write access), also diff what ferry tracks in each environment against the live cluster."},
	{SyncCmd, " ENV", Write, "Sync an environment whose sync policy is manual (merged pull requests only)."},
	{RollbackCmd, " ENV [REVISION]", Write, "Revert the pull request back to a revision from the environment's history; by default the one before the current."},
	{LockCmd, " ENV [REASON...]", Write, "Freeze syncs to an environment."},
	{UnlockCmd, " ENV", Write, "Resume syncs to a locked environment."},
	{HistoryCmd, " ENV", Read, "Show the environment's last syncs as a table."},
}

func lookup(n Name) (spec, bool) {
	for _, s := range specs {
		if s.name == n {
			return s, true
		}
	}
	return spec{}, false
}

// liveNeeds is what `/ferry diff --live` needs: it reads the cluster, which
// readers of the repository may not see.
const liveNeeds = Write

// Needs is the permission a commenter must have to run c. A name outside
// the table needs Admin, so a forged Command fails closed.
func (c Command) Needs() Permission {
	s, ok := lookup(c.Name)
	if !ok {
		return Admin
	}
	if c.Name == DiffCmd && c.Live {
		return max(s.need, liveNeeds)
	}
	return s.need
}

// Allowed reports whether a commenter with permission have may run c.
func (c Command) Allowed(have Permission) bool {
	return have >= c.Needs()
}

// Usage is the usage line of a command, such as
// "/ferry rollback ENV [REVISION]"; empty for an unknown name.
func Usage(n Name) string {
	s, ok := lookup(n)
	if !ok {
		return ""
	}
	return prefix + " " + string(s.name) + s.args
}

// Help is the markdown table of the commands and who may run them.
func Help() string {
	var b strings.Builder
	b.WriteString("| Command | Who may run it | What it does |\n|---|---|---|\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", Usage(s.name), who(s.need), s.about)
	}
	b.WriteString("\nPut each command at the start of a line of its own; " +
		"one comment may hold several. Lines in code blocks or quotes are ignored. " +
		"`REVISION` is a commit SHA (7 to 40 hex digits) or a history id such as `#12`.\n")
	return b.String()
}

func who(p Permission) string {
	if p <= Read {
		return "anyone with read access"
	}
	return p.String() + " access or more"
}

// Refusal tells user why they may not run c: for example
// "@bob needs write access to run `/ferry sync`; they have read".
// It is empty when have is enough.
func Refusal(c Command, have Permission, user string) string {
	need := c.Needs()
	if have >= need {
		return ""
	}
	has := have.String()
	if have <= None {
		has = "no access"
	}
	what := prefix + " " + string(c.Name)
	if c.Name == DiffCmd && c.Live {
		what += " --live"
	}
	return fmt.Sprintf("%s needs %s access to run `%s`; they have %s", mention(user), need, what, has)
}

// mention pings the commenter, who asked for the reply; anything that is
// not a login is echoed instead so it cannot ping someone else.
func mention(user string) string {
	if user == "" {
		return "The commenter"
	}
	return markdown.Mention(markdown.Clip(user, maxEcho))
}

// Parse returns the commands in a comment body, and a UsageError for each
// line that starts with /ferry but is not a valid command.
//
// A command line starts with /ferry after at most three spaces, as
// markdown blocks do; more indentation is a code block. Lines in fenced
// code blocks, HTML comments and quotes are ignored: they show commands
// rather than give them, and quoting an old command must not rerun it.
// After maxCommands command lines the rest of the comment is ignored, with
// one UsageError saying so.
func Parse(body string) ([]Command, []*UsageError) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	var (
		cmds []Command
		errs []*UsageError
		blk  blocks
		seen int
	)
	for i, line := range strings.Split(body, "\n") {
		text, ok := blk.text(line)
		if !ok {
			continue
		}
		toks := tokens(text)
		if len(toks) == 0 || !strings.EqualFold(toks[0].s, prefix) {
			continue
		}
		raw := strings.TrimSpace(line)
		if seen++; seen > maxCommands {
			errs = append(errs, &UsageError{Line: i + 1, Raw: raw,
				Message: fmt.Sprintf("more than %d commands in one comment; this line and the rest were ignored", maxCommands)})
			break
		}
		c, uerr := parseCommand(text, toks[1:])
		if uerr != nil {
			uerr.Line, uerr.Raw = i+1, raw
			errs = append(errs, uerr)
			continue
		}
		c.Line, c.Raw = i+1, raw
		cmds = append(cmds, c)
	}
	return cmds, errs
}

// token is a word of a command line and the byte offset just past it.
type token struct {
	s   string
	end int
}

func tokens(line string) []token {
	var out []token
	start := -1
	for i, r := range line {
		switch {
		case unicode.IsSpace(r) && start >= 0:
			out = append(out, token{line[start:i], i})
			start = -1
		case !unicode.IsSpace(r) && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, token{line[start:], len(line)})
	}
	return out
}

// parseCommand parses what follows /ferry on line.
func parseCommand(line string, toks []token) (Command, *UsageError) {
	if len(toks) == 0 {
		return Command{}, &UsageError{Message: fmt.Sprintf("`%s` needs a command. Run `%s help` for the list of commands.", prefix, prefix)}
	}
	word := toks[0].s
	s, ok := lookup(Name(strings.ToLower(word)))
	if !ok {
		return Command{}, unknown(word)
	}
	c := Command{Name: s.name}
	args := toks[1:]
	fail := func(format string, a ...any) (Command, *UsageError) {
		msg := fmt.Sprintf(format, a...)
		return Command{}, &UsageError{Message: fmt.Sprintf("%s. Usage: `%s`", msg, Usage(s.name))}
	}
	// Only diff has a flag, and lock's reason is free text, so a leading
	// dash is otherwise a mistaken flag: environments cannot start with one.
	for i, a := range args {
		if s.name == LockCmd && i > 0 {
			break
		}
		if !strings.HasPrefix(a.s, "-") {
			continue
		}
		if s.name == DiffCmd && strings.EqualFold(a.s, "--live") {
			c.Live = true
			continue
		}
		return fail("unknown flag %s for `%s %s`", Echo(a.s), prefix, s.name)
	}

	switch s.name {
	case HelpCmd:
		if len(args) > 0 {
			return fail("`%s help` takes no arguments; unexpected %s", prefix, Echo(args[0].s))
		}
	case DiffCmd:
		for _, a := range args {
			if strings.HasPrefix(a.s, "-") {
				continue
			}
			if !validEnv(a.s) {
				return fail("%s", badEnv(a.s))
			}
			if !contains(c.Envs, a.s) {
				c.Envs = append(c.Envs, a.s)
			}
		}
	default:
		if len(args) == 0 {
			return fail("`%s %s` needs an environment", prefix, s.name)
		}
		if !validEnv(args[0].s) {
			return fail("%s", badEnv(args[0].s))
		}
		c.Env = args[0].s
		rest := args[1:]
		switch s.name {
		case LockCmd:
			c.Reason = strings.TrimSpace(line[args[0].end:])
			rest = nil
		case RollbackCmd:
			if len(rest) > 0 {
				rev, ok := revision(rest[0].s)
				if !ok {
					return fail("%s is not a revision: give a commit SHA (7 to 40 hex digits) or a history id such as `#12`", Echo(rest[0].s))
				}
				c.Revision = rev
				rest = rest[1:]
			}
		}
		if len(rest) > 0 {
			return fail("unexpected %s after the arguments", Echo(rest[0].s))
		}
	}
	return c, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// unknown explains a command name that is not in the table, suggesting
// the closest one if a typo away.
func unknown(word string) *UsageError {
	if n, ok := closest(strings.ToLower(word)); ok {
		sug := prefix + " " + string(n)
		return &UsageError{
			Message:    fmt.Sprintf("unknown command %s. Did you mean `%s`?", Echo(word), sug),
			Suggestion: sug,
		}
	}
	return &UsageError{Message: fmt.Sprintf("unknown command %s. Run `%s help` for the list of commands.", Echo(word), prefix)}
}

// maxTypo is the largest edit distance still taken for a misspelling.
const maxTypo = 2

// closest is the command name within maxTypo edits of word, the first in
// table order on a tie.
func closest(word string) (Name, bool) {
	best, bestD := Name(""), maxTypo+1
	for _, s := range specs {
		if d := distance(word, string(s.name)); d < bestD {
			best, bestD = s.name, d
		}
	}
	return best, bestD <= maxTypo
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance
// between a and b, in runes. Words much longer than any name skip the
// quadratic work: they cannot be within maxTypo anyway.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > maxTypo || -d > maxTypo {
		return maxTypo + 1
	}
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// envRE is config's environment name rule, capped at a DNS name's length.
var envRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._/-]{0,252}$`)

func validEnv(s string) bool { return envRE.MatchString(s) }

func badEnv(s string) string {
	return fmt.Sprintf("%s is not an environment name: use letters, digits, `.`, `_`, `/` and `-`, starting with a letter or digit, at most 253 characters", Echo(s))
}

var (
	shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)
	idRE  = regexp.MustCompile(`^#?[0-9]{1,18}$`)
)

// revision normalises a rollback target. Seven or more bare digits are a
// SHA prefix, not an id: about one short SHA in 27 is all digits, while
// history ids stay small; "#1234567" still names the id.
func revision(s string) (string, bool) {
	bare := !strings.HasPrefix(s, "#")
	switch {
	case bare && shaRE.MatchString(s):
		return strings.ToLower(s), true
	case idRE.MatchString(s):
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
		if err != nil || n <= 0 {
			return "", false
		}
		return "#" + strconv.FormatInt(n, 10), true
	}
	return "", false
}
