package chatops

import (
	"reflect"
	"strings"
	"testing"
)

// wantErr is what a test expects of a UsageError: its line and suggestion
// exactly, and fragments its message must contain.
type wantErr struct {
	line       int
	suggestion string
	contains   []string
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []Command
		errs []wantErr
	}{
		{name: "empty", body: ""},
		{name: "prose only", body: "LGTM, thanks!\nWill merge after CI."},
		{
			name: "help",
			body: "/ferry help",
			want: []Command{{Name: HelpCmd, Line: 1, Raw: "/ferry help"}},
		},
		{
			name: "diff without environments",
			body: "/ferry diff",
			want: []Command{{Name: DiffCmd, Line: 1, Raw: "/ferry diff"}},
		},
		{
			name: "diff with environments deduplicated in order",
			body: "/ferry diff prod staging prod",
			want: []Command{{Name: DiffCmd, Envs: []string{"prod", "staging"}, Line: 1, Raw: "/ferry diff prod staging prod"}},
		},
		{
			name: "live flag first",
			body: "/ferry diff --live prod",
			want: []Command{{Name: DiffCmd, Envs: []string{"prod"}, Live: true, Line: 1, Raw: "/ferry diff --live prod"}},
		},
		{
			name: "live flag between environments",
			body: "/ferry diff prod --live apps/staging",
			want: []Command{{Name: DiffCmd, Envs: []string{"prod", "apps/staging"}, Live: true, Line: 1, Raw: "/ferry diff prod --live apps/staging"}},
		},
		{
			name: "live flag last and alone",
			body: "/ferry diff --live",
			want: []Command{{Name: DiffCmd, Live: true, Line: 1, Raw: "/ferry diff --live"}},
		},
		{
			name: "sync",
			body: "/ferry sync prod-eu.1_a",
			want: []Command{{Name: SyncCmd, Env: "prod-eu.1_a", Line: 1, Raw: "/ferry sync prod-eu.1_a"}},
		},
		{
			name: "environment names keep their case",
			body: "/ferry sync Prod",
			want: []Command{{Name: SyncCmd, Env: "Prod", Line: 1, Raw: "/ferry sync Prod"}},
		},
		{
			name: "command names and prefix are case-insensitive",
			body: "/FERRY Sync prod\n/Ferry DIFF --LIVE",
			want: []Command{
				{Name: SyncCmd, Env: "prod", Line: 1, Raw: "/FERRY Sync prod"},
				{Name: DiffCmd, Live: true, Line: 2, Raw: "/Ferry DIFF --LIVE"},
			},
		},
		{
			name: "rollback to the previous revision",
			body: "/ferry rollback prod",
			want: []Command{{Name: RollbackCmd, Env: "prod", Line: 1, Raw: "/ferry rollback prod"}},
		},
		{
			name: "rollback to a SHA prefix, lower-cased",
			body: "/ferry rollback prod 3F2A9C1",
			want: []Command{{Name: RollbackCmd, Env: "prod", Revision: "3f2a9c1", Line: 1, Raw: "/ferry rollback prod 3F2A9C1"}},
		},
		{
			name: "rollback to a full SHA",
			body: "/ferry rollback prod 0123456789abcdef0123456789abcdef01234567",
			want: []Command{{Name: RollbackCmd, Env: "prod", Revision: "0123456789abcdef0123456789abcdef01234567", Line: 1,
				Raw: "/ferry rollback prod 0123456789abcdef0123456789abcdef01234567"}},
		},
		{
			name: "rollback to history ids",
			body: "/ferry rollback prod #12\n/ferry rollback prod 12\n/ferry rollback prod #007\n/ferry rollback prod #1234567",
			want: []Command{
				{Name: RollbackCmd, Env: "prod", Revision: "#12", Line: 1, Raw: "/ferry rollback prod #12"},
				{Name: RollbackCmd, Env: "prod", Revision: "#12", Line: 2, Raw: "/ferry rollback prod 12"},
				{Name: RollbackCmd, Env: "prod", Revision: "#7", Line: 3, Raw: "/ferry rollback prod #007"},
				{Name: RollbackCmd, Env: "prod", Revision: "#1234567", Line: 4, Raw: "/ferry rollback prod #1234567"},
			},
		},
		{
			name: "seven bare digits are a SHA prefix",
			body: "/ferry rollback prod 1234567",
			want: []Command{{Name: RollbackCmd, Env: "prod", Revision: "1234567", Line: 1, Raw: "/ferry rollback prod 1234567"}},
		},
		{
			name: "lock with a reason kept as written",
			body: "/ferry lock prod  incident #42 -- do   not touch --live",
			want: []Command{{Name: LockCmd, Env: "prod", Reason: "incident #42 -- do   not touch --live", Line: 1,
				Raw: "/ferry lock prod  incident #42 -- do   not touch --live"}},
		},
		{
			name: "lock without a reason",
			body: "/ferry lock prod",
			want: []Command{{Name: LockCmd, Env: "prod", Line: 1, Raw: "/ferry lock prod"}},
		},
		{
			name: "unlock and history",
			body: "/ferry unlock prod\n/ferry history staging",
			want: []Command{
				{Name: UnlockCmd, Env: "prod", Line: 1, Raw: "/ferry unlock prod"},
				{Name: HistoryCmd, Env: "staging", Line: 2, Raw: "/ferry history staging"},
			},
		},
		{
			name: "several commands among prose",
			body: "Looks good.\n\n/ferry diff --live\nand then\n/ferry sync prod\nthanks",
			want: []Command{
				{Name: DiffCmd, Live: true, Line: 3, Raw: "/ferry diff --live"},
				{Name: SyncCmd, Env: "prod", Line: 5, Raw: "/ferry sync prod"},
			},
		},
		{
			name: "CRLF line endings",
			body: "hi\r\n/ferry sync prod\r\n/ferry lock prod  freeze \r\n",
			want: []Command{
				{Name: SyncCmd, Env: "prod", Line: 2, Raw: "/ferry sync prod"},
				{Name: LockCmd, Env: "prod", Reason: "freeze", Line: 3, Raw: "/ferry lock prod  freeze"},
			},
		},
		{
			name: "extra spaces and tabs between words",
			body: "   /ferry   sync\t prod   ",
			want: []Command{{Name: SyncCmd, Env: "prod", Line: 1, Raw: "/ferry   sync\t prod"}},
		},
		{
			name: "four spaces of indentation is code",
			body: "    /ferry sync prod\n\t/ferry sync prod",
		},
		{
			name: "prefix must be a word of its own",
			body: "/ferryboat sync prod\n/ferry-sync prod\nsee /ferry sync prod",
		},
		{
			name: "commands in fenced code blocks are ignored",
			body: "Run this:\n```\n/ferry sync prod\n```\n/ferry sync staging\n~~~sh\n/ferry unlock prod\n~~~\n",
			want: []Command{{Name: SyncCmd, Env: "staging", Line: 5, Raw: "/ferry sync staging"}},
		},
		{
			name: "a fence closes only on a fence as long",
			body: "````md\n```\n/ferry sync prod\n```\n````\n/ferry history prod",
			want: []Command{{Name: HistoryCmd, Env: "prod", Line: 6, Raw: "/ferry history prod"}},
		},
		{
			name: "a backtick fence does not close a tilde fence",
			body: "~~~\n```\n/ferry sync prod\n",
		},
		{
			name: "an unclosed fence runs to the end",
			body: "```\n/ferry sync prod",
		},
		{
			name: "inline code on one line is not a fence",
			body: "```inline``` text\n/ferry sync prod",
			want: []Command{{Name: SyncCmd, Env: "prod", Line: 2, Raw: "/ferry sync prod"}},
		},
		{
			name: "a fence in a list item hides its lines",
			body: "- steps:\n- ```\n  /ferry sync prod\n  ```\n/ferry diff",
			want: []Command{{Name: DiffCmd, Line: 5, Raw: "/ferry diff"}},
		},
		{
			name: "quoted commands are ignored",
			body: "> /ferry sync prod\n>/ferry sync prod\n  > > /ferry rollback prod\nok",
		},
		{
			name: "a fence inside a quote does not hide later lines",
			body: "> ```\n> /ferry sync prod\n/ferry sync staging",
			want: []Command{{Name: SyncCmd, Env: "staging", Line: 3, Raw: "/ferry sync staging"}},
		},
		{
			name: "HTML comments are ignored",
			body: "<!--\n/ferry sync prod\n-->\n<!-- /ferry sync prod -->\n/ferry sync staging",
			want: []Command{{Name: SyncCmd, Env: "staging", Line: 5, Raw: "/ferry sync staging"}},
		},
		{
			name: "misspelt command suggests the closest",
			body: "/ferry snyc prod",
			errs: []wantErr{{line: 1, suggestion: "/ferry sync", contains: []string{"unknown command `snyc`", "Did you mean `/ferry sync`?"}}},
		},
		{
			name: "missing letter",
			body: "/ferry rollbak prod",
			errs: []wantErr{{line: 1, suggestion: "/ferry rollback", contains: []string{"Did you mean `/ferry rollback`?"}}},
		},
		{
			name: "misspelling in capitals",
			body: "/ferry HISTROY prod",
			errs: []wantErr{{line: 1, suggestion: "/ferry history", contains: []string{"unknown command `HISTROY`"}}},
		},
		{
			name: "help written as a flag",
			body: "/ferry --help",
			errs: []wantErr{{line: 1, suggestion: "/ferry help"}},
		},
		{
			name: "garbage far from any command has no suggestion",
			body: "/ferry xyzzyplugh",
			errs: []wantErr{{line: 1, contains: []string{"unknown command `xyzzyplugh`", "`/ferry help`"}}},
		},
		{
			name: "three edits is too far",
			body: "/ferry deploy prod",
			errs: []wantErr{{line: 1, contains: []string{"unknown command `deploy`"}}},
		},
		{
			name: "bare prefix",
			body: "/ferry",
			errs: []wantErr{{line: 1, contains: []string{"needs a command", "`/ferry help`"}}},
		},
		{
			name: "missing environment",
			body: "/ferry sync\n/ferry rollback\n/ferry lock\n/ferry unlock\n/ferry history",
			errs: []wantErr{
				{line: 1, contains: []string{"needs an environment", "Usage: `/ferry sync ENV`"}},
				{line: 2, contains: []string{"Usage: `/ferry rollback ENV [REVISION]`"}},
				{line: 3, contains: []string{"Usage: `/ferry lock ENV [REASON...]`"}},
				{line: 4, contains: []string{"Usage: `/ferry unlock ENV`"}},
				{line: 5, contains: []string{"Usage: `/ferry history ENV`"}},
			},
		},
		{
			name: "extra arguments",
			body: "/ferry sync prod staging\n/ferry help me\n/ferry rollback prod #3 now\n/ferry unlock prod please",
			errs: []wantErr{
				{line: 1, contains: []string{"unexpected `staging`", "Usage: `/ferry sync ENV`"}},
				{line: 2, contains: []string{"takes no arguments", "Usage: `/ferry help`"}},
				{line: 3, contains: []string{"unexpected `now`", "Usage: `/ferry rollback ENV [REVISION]`"}},
				{line: 4, contains: []string{"unexpected `please`"}},
			},
		},
		{
			name: "invalid environment names",
			body: "/ferry sync prod!\n/ferry diff ok .hidden\n/ferry lock _x reason\n/ferry history " + strings.Repeat("a", 254),
			errs: []wantErr{
				{line: 1, contains: []string{"`prod!` is not an environment name", "Usage: `/ferry sync ENV`"}},
				{line: 2, contains: []string{"`.hidden` is not an environment name", "Usage: `/ferry diff [ENV...] [--live]`"}},
				{line: 3, contains: []string{"`_x` is not an environment name"}},
				{line: 4, contains: []string{"is not an environment name"}},
			},
		},
		{
			name: "bad revisions",
			body: "/ferry rollback prod abc123\n/ferry rollback prod zzzzzzz\n/ferry rollback prod #0\n/ferry rollback prod #\n/ferry rollback prod " +
				strings.Repeat("a", 41) + "\n/ferry rollback prod #99999999999999999999",
			errs: []wantErr{
				{line: 1, contains: []string{"`abc123` is not a revision", "`#12`", "Usage: `/ferry rollback ENV [REVISION]`"}},
				{line: 2, contains: []string{"`zzzzzzz` is not a revision"}},
				{line: 3, contains: []string{"`#0` is not a revision"}},
				{line: 4, contains: []string{"`#` is not a revision"}},
				{line: 5, contains: []string{"is not a revision"}},
				{line: 6, contains: []string{"is not a revision"}},
			},
		},
		{
			name: "unknown flags",
			body: "/ferry diff --force prod\n/ferry sync prod --live\n/ferry lock --now prod\n/ferry diff -l",
			errs: []wantErr{
				{line: 1, contains: []string{"unknown flag `--force` for `/ferry diff`", "Usage: `/ferry diff [ENV...] [--live]`"}},
				{line: 2, contains: []string{"unknown flag `--live` for `/ferry sync`", "Usage: `/ferry sync ENV`"}},
				{line: 3, contains: []string{"unknown flag `--now`", "Usage: `/ferry lock ENV [REASON...]`"}},
				{line: 4, contains: []string{"unknown flag `-l`"}},
			},
		},
		{
			name: "valid and invalid lines together",
			body: "/ferry sync prod\r\n/ferry snyc staging\r\n/ferry history prod",
			want: []Command{
				{Name: SyncCmd, Env: "prod", Line: 1, Raw: "/ferry sync prod"},
				{Name: HistoryCmd, Env: "prod", Line: 3, Raw: "/ferry history prod"},
			},
			errs: []wantErr{{line: 2, suggestion: "/ferry sync"}},
		},
		{
			name: "user text in messages is neutralised",
			body: "/ferry sync @org/team`x`",
			errs: []wantErr{{line: 1, contains: []string{"`` @\u200borg/team`x` `` is not an environment name"}}},
		},
		{
			name: "too many commands",
			body: strings.Repeat("/ferry diff\n", maxCommands) + "/ferry sync prod\n/ferry sync prod",
			want: func() []Command {
				var cs []Command
				for i := range maxCommands {
					cs = append(cs, Command{Name: DiffCmd, Line: i + 1, Raw: "/ferry diff"})
				}
				return cs
			}(),
			errs: []wantErr{{line: maxCommands + 1, contains: []string{"more than 10 commands"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := Parse(tt.body)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands:\n got %+v\nwant %+v", got, tt.want)
			}
			if len(errs) != len(tt.errs) {
				for _, e := range errs {
					t.Logf("error: %v", e)
				}
				t.Fatalf("got %d usage errors, want %d", len(errs), len(tt.errs))
			}
			lines := strings.Split(strings.ReplaceAll(tt.body, "\r\n", "\n"), "\n")
			for i, w := range tt.errs {
				e := errs[i]
				if e.Line != w.line || e.Suggestion != w.suggestion {
					t.Errorf("error %d: line %d suggestion %q, want line %d suggestion %q", i, e.Line, e.Suggestion, w.line, w.suggestion)
				}
				if want := strings.TrimSpace(lines[e.Line-1]); e.Raw != want {
					t.Errorf("error %d: Raw %q, want %q", i, e.Raw, want)
				}
				for _, frag := range w.contains {
					if !strings.Contains(e.Message, frag) {
						t.Errorf("error %d: message %q lacks %q", i, e.Message, frag)
					}
				}
			}
		})
	}
}

func TestHistoryID(t *testing.T) {
	tests := []struct {
		revision string
		id       int64
		ok       bool
	}{
		{"#12", 12, true},
		{"", 0, false},
		{"3f2a9c1", 0, false},
		{"1234567", 0, false},
	}
	for _, tt := range tests {
		id, ok := Command{Name: RollbackCmd, Revision: tt.revision}.HistoryID()
		if id != tt.id || ok != tt.ok {
			t.Errorf("HistoryID(%q) = %d, %v; want %d, %v", tt.revision, id, ok, tt.id, tt.ok)
		}
	}
}

func TestDistance(t *testing.T) {
	const far = -1 // any distance beyond maxTypo
	tests := []struct {
		a, b string
		want int
	}{
		{"sync", "sync", 0},
		{"snyc", "sync", 1},        // transposition
		{"rollbak", "rollback", 1}, // deletion
		{"lcok", "lock", 1},
		{"hlep", "help", 1},
		{"unlokc", "unlock", 1},
		{"dif", "diff", 1},
		{"synk", "sync", 1},
		{"sycn", "sync", 1},
		{"ab", "ba", 1},
		{"", "abc", 3},
		{"deploy", "diff", far},
		{"xyzzyplugh", "help", far}, // too long to bother computing
	}
	for _, tt := range tests {
		got := distance(tt.a, tt.b)
		if tt.want == far && got > maxTypo {
			continue
		}
		if got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPermissions(t *testing.T) {
	tests := []struct {
		github string
		want   Permission
	}{
		{"admin", Admin},
		{"ADMIN", Admin},
		{"maintain", Maintain},
		{"write", Write},
		{"push", Write},
		{"triage", Triage},
		{" read ", Read},
		{"pull", Read},
		{"none", None},
		{"", None},
		{"deployer", None}, // a custom role's name grants nothing
	}
	for _, tt := range tests {
		if got := ParsePermission(tt.github); got != tt.want {
			t.Errorf("ParsePermission(%q) = %v, want %v", tt.github, got, tt.want)
		}
	}

	// Who may run what: admin, maintain and write count as write.
	allowed := map[Name][]string{
		HelpCmd:     {"read", "triage", "write", "maintain", "admin"},
		DiffCmd:     {"read", "triage", "write", "maintain", "admin"},
		HistoryCmd:  {"read", "triage", "write", "maintain", "admin"},
		SyncCmd:     {"write", "maintain", "admin"},
		RollbackCmd: {"write", "maintain", "admin"},
		LockCmd:     {"write", "maintain", "admin"},
		UnlockCmd:   {"write", "maintain", "admin"},
	}
	for name, who := range allowed {
		c := Command{Name: name}
		for _, p := range []string{"none", "read", "triage", "write", "maintain", "admin"} {
			want := false
			for _, w := range who {
				want = want || w == p
			}
			if got := c.Allowed(ParsePermission(p)); got != want {
				t.Errorf("%s allowed for %s = %v, want %v", name, p, got, want)
			}
		}
	}
	// A live diff reads the cluster: write, as for sync.
	live := Command{Name: DiffCmd, Live: true}
	for _, p := range []string{"none", "read", "triage", "write", "maintain", "admin"} {
		want := p == "write" || p == "maintain" || p == "admin"
		if got := live.Allowed(ParsePermission(p)); got != want {
			t.Errorf("diff --live allowed for %s = %v, want %v", p, got, want)
		}
	}
	if got := (Command{Name: "deploy"}).Needs(); got != Admin {
		t.Errorf("unknown command needs %v, want admin", got)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name Name
		want string
	}{
		{HelpCmd, "/ferry help"},
		{DiffCmd, "/ferry diff [ENV...] [--live]"},
		{SyncCmd, "/ferry sync ENV"},
		{RollbackCmd, "/ferry rollback ENV [REVISION]"},
		{LockCmd, "/ferry lock ENV [REASON...]"},
		{UnlockCmd, "/ferry unlock ENV"},
		{HistoryCmd, "/ferry history ENV"},
		{"deploy", ""},
	}
	for _, tt := range tests {
		if got := Usage(tt.name); got != tt.want {
			t.Errorf("Usage(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestHelp(t *testing.T) {
	h := Help()
	rows := map[string]string{
		"/ferry help":                    "anyone with read access",
		"/ferry diff [ENV...] [--live]":  "anyone with read access",
		"/ferry history ENV":             "anyone with read access",
		"/ferry sync ENV":                "write access or more",
		"/ferry rollback ENV [REVISION]": "write access or more",
		"/ferry lock ENV [REASON...]":    "write access or more",
		"/ferry unlock ENV":              "write access or more",
	}
	for usage, who := range rows {
		if row := "| `" + usage + "` | " + who + " |"; !strings.Contains(h, row) {
			t.Errorf("help lacks the row %q:\n%s", row, h)
		}
	}
	if !strings.HasPrefix(h, "| Command | Who may run it | What it does |\n|---|---|---|\n") {
		t.Errorf("help does not start with the table header:\n%s", h)
	}
	for _, want := range []string{"--live", "manual", "merged", "`#12`"} {
		if !strings.Contains(h, want) {
			t.Errorf("help does not mention %q", want)
		}
	}
	// Posting help must not trigger ferry when it reads its own comment.
	if cmds, errs := Parse(h); len(cmds) != 0 || len(errs) != 0 {
		t.Errorf("Parse(Help()) = %v, %v; want nothing", cmds, errs)
	}
}

func TestRefusal(t *testing.T) {
	sync := Command{Name: SyncCmd, Env: "prod"}
	tests := []struct {
		name string
		c    Command
		have Permission
		user string
		want string
	}{
		{"read user syncing", sync, Read, "bob", "@bob needs write access to run `/ferry sync`; they have read"},
		{"triage user locking", Command{Name: LockCmd, Env: "prod"}, Triage, "alice-1", "@alice-1 needs write access to run `/ferry lock`; they have triage"},
		{"outsider reading history", Command{Name: HistoryCmd, Env: "prod"}, None, "eve", "@eve needs read access to run `/ferry history`; they have no access"},
		{"bot account", sync, Read, "renovate[bot]", "@renovate[bot] needs write access to run `/ferry sync`; they have read"},
		{"a login that is not one is echoed", sync, Read, "@org/team", "`@\u200borg/team` needs write access to run `/ferry sync`; they have read"},
		{"no user", sync, Read, "", "The commenter needs write access to run `/ferry sync`; they have read"},
		{"read user diffing live", Command{Name: DiffCmd, Live: true}, Read, "bob", "@bob needs write access to run `/ferry diff --live`; they have read"},
		{"enough access", sync, Write, "bob", ""},
		{"more than enough", sync, Admin, "bob", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refusal(tt.c, tt.have, tt.user); got != tt.want {
				t.Errorf("Refusal = %q, want %q", got, tt.want)
			}
		})
	}
}
