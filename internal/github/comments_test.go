package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

const (
	marker   = "<!-- ferry:preview env=prod -->"
	botLogin = "ferry[bot]" // the fake's default App slug
)

func TestUpsertComment(t *testing.T) {
	type want struct {
		id       string   // the seeded comment's name edited, or "new"
		comments []string // "user: body" of every comment after, oldest first; NEW is the new body
		lists    int      // issues/list-comments calls
		creates  int      // issues/create-comment calls
	}
	const body = "preview: 3 changes"
	const stored = marker + "\n" + body
	tests := []struct {
		name string
		// seed adds comments, by name, and returns the id the caller knows.
		seed func(t *testing.T, e *env, number int, ids map[string]int64) int64
		want want
	}{
		{
			name: "creates when there is none",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				ids["alice"] = e.gh.AddComment("acme", "app", n, "alice", "lgtm").ID
				return 0
			},
			want: want{id: "new", comments: []string{"alice: lgtm", botLogin + ": " + stored}, lists: 1, creates: 1},
		},
		{
			name: "edits the known comment",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				ids["mine"] = e.gh.AddComment("acme", "app", n, botLogin, marker+"\nold").ID
				ids["alice"] = e.gh.AddComment("acme", "app", n, "alice", "lgtm").ID
				return ids["mine"]
			},
			want: want{id: "mine", comments: []string{botLogin + ": " + stored, "alice: lgtm"}},
		},
		{
			name: "known comment deleted: finds another by marker",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				gone := e.gh.AddComment("acme", "app", n, botLogin, marker+"\nfirst").ID
				ids["second"] = e.gh.AddComment("acme", "app", n, botLogin, marker+"\nsecond").ID
				deleteComment(t, e, gone)
				return gone
			},
			want: want{id: "second", comments: []string{botLogin + ": " + stored}, lists: 1},
		},
		{
			name: "known comment deleted: creates",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				gone := e.gh.AddComment("acme", "app", n, botLogin, marker+"\nfirst").ID
				deleteComment(t, e, gone)
				return gone
			},
			want: want{id: "new", comments: []string{botLogin + ": " + stored}, lists: 1, creates: 1},
		},
		{
			name: "own comment with the marker mid-text is found",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				ids["mine"] = e.gh.AddComment("acme", "app", n, botLogin, "## Preview\n"+marker+"\nold").ID
				return 0
			},
			want: want{id: "mine", comments: []string{botLogin + ": " + stored}, lists: 1},
		},
		{
			name: "a user's comment quoting the marker is not hijacked",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				ids["alice"] = e.gh.AddComment("acme", "app", n, "alice", "why does ferry post "+marker+"?").ID
				return 0
			},
			want: want{id: "new", comments: []string{"alice: why does ferry post " + marker + "?", botLogin + ": " + stored}, lists: 1, creates: 1},
		},
		{
			name: "a user's comment starting with the marker is not hijacked",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				ids["mallory"] = e.gh.AddComment("acme", "app", n, "mallory", marker+"\ncopied ferry's comment").ID
				return 0
			},
			want: want{id: "new", comments: []string{"mallory: " + marker + "\ncopied ferry's comment", botLogin + ": " + stored}, lists: 1, creates: 1},
		},
		{
			name: "a comment for another environment is not taken",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				e.gh.AddComment("acme", "app", n, botLogin, "<!-- ferry:preview env=staging -->\nstaging")
				return 0
			},
			want: want{id: "new", comments: []string{botLogin + ": <!-- ferry:preview env=staging -->\nstaging", botLogin + ": " + stored}, lists: 1, creates: 1},
		},
		{
			name: "marker on the second page",
			seed: func(t *testing.T, e *env, n int, ids map[string]int64) int64 {
				for i := range 115 {
					e.gh.AddComment("acme", "app", n, "alice", fmt.Sprintf("comment %d", i))
				}
				ids["mine"] = e.gh.AddComment("acme", "app", n, botLogin, marker+"\nold").ID
				for i := 115; i < 130; i++ {
					e.gh.AddComment("acme", "app", n, "alice", fmt.Sprintf("comment %d", i))
				}
				return 0
			},
			want: want{id: "mine", comments: func() []string {
				var out []string
				for i := range 115 {
					out = append(out, fmt.Sprintf("alice: comment %d", i))
				}
				out = append(out, botLogin+": "+stored)
				for i := 115; i < 130; i++ {
					out = append(out, fmt.Sprintf("alice: comment %d", i))
				}
				return out
			}(), lists: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pr := e.gh.AddPullRequest("acme", "app", githubtest.PR{})
			ids := map[string]int64{}
			known := tc.seed(t, e, pr.Number, ids)
			before := map[int64]bool{}
			for _, c := range e.gh.Comments("acme", "app", pr.Number) {
				before[c.ID] = true
			}
			listsBefore := len(e.gh.CallsTo("issues/list-comments"))

			id, err := e.client.UpsertComment(context.Background(), e.repo, pr.Number, known, marker, body)
			if err != nil {
				t.Fatalf("UpsertComment: %v", err)
			}
			if tc.want.id == "new" {
				if before[id] || id == 0 {
					t.Errorf("UpsertComment = %d, an existing comment; want a new one", id)
				}
			} else if id != ids[tc.want.id] {
				t.Errorf("UpsertComment = %d, want %s's %d", id, tc.want.id, ids[tc.want.id])
			}
			var got []string
			for _, c := range e.gh.Comments("acme", "app", pr.Number) {
				got = append(got, c.User+": "+c.Body)
			}
			if strings.Join(got, "\n|") != strings.Join(tc.want.comments, "\n|") {
				t.Errorf("comments after =\n%q\nwant\n%q", got, tc.want.comments)
			}
			if n := len(e.gh.CallsTo("issues/list-comments")) - listsBefore; n != tc.want.lists {
				t.Errorf("%d list-comments calls, want %d", n, tc.want.lists)
			}
			if n := len(e.gh.CallsTo("issues/create-comment")); n != tc.want.creates {
				t.Errorf("%d create-comment calls, want %d", n, tc.want.creates)
			}
			for _, c := range e.gh.CallsTo("issues/list-comments") {
				if c.Query.Get("per_page") != "100" {
					t.Errorf("list-comments per_page = %q, want 100", c.Query.Get("per_page"))
				}
			}
		})
	}
}

func deleteComment(t *testing.T, e *env, id int64) {
	t.Helper()
	if _, err := e.client.REST.Issues.DeleteComment(context.Background(), "acme", "app", id); err != nil {
		t.Fatalf("delete comment %d: %v", id, err)
	}
}

func TestUpsertCommentIsStable(t *testing.T) {
	// The id a job remembers keeps pointing at the one comment; a job that
	// lost it (retried after a 5xx on create) still finds it.
	e := newEnv(t)
	ctx := context.Background()
	pr := e.gh.AddPullRequest("acme", "app", githubtest.PR{})
	first, err := e.client.UpsertComment(ctx, e.repo, pr.Number, 0, marker, "v1")
	if err != nil {
		t.Fatal(err)
	}
	for i, known := range []int64{first, 0, first} {
		id, err := e.client.UpsertComment(ctx, e.repo, pr.Number, known, marker, fmt.Sprintf("v%d", i+2))
		if err != nil || id != first {
			t.Fatalf("upsert %d (known %d) = %d, %v; want %d", i, known, id, err, first)
		}
	}
	cs := e.gh.Comments("acme", "app", pr.Number)
	if len(cs) != 1 || cs[0].Body != marker+"\nv4" || cs[0].User != botLogin {
		t.Errorf("comments = %+v, want one bot comment with v4", cs)
	}
}

func TestUpsertCommentErrors(t *testing.T) {
	tests := []struct {
		name       string
		op         string
		status     int
		n          int
		known      bool
		wantErr    string
		wantCalls  int // calls to op
		wantSleeps []time.Duration
	}{
		{
			name: "known comment answers 403: no fallback", op: "issues/update-comment", status: http.StatusForbidden, n: 1,
			known: true, wantErr: "edit comment", wantCalls: 1,
		},
		{
			name: "known comment keeps answering 500: retried in place, then given up", op: "issues/update-comment",
			status: http.StatusInternalServerError, n: 3, known: true, wantErr: "edit comment", wantCalls: 3,
			wantSleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
		{
			name: "listing fails", op: "issues/list-comments", status: http.StatusForbidden, n: 1,
			wantErr: "list comments", wantCalls: 1,
		},
		{
			name: "create answers 502: not replayed", op: "issues/create-comment", status: http.StatusBadGateway, n: 1,
			wantErr: "create comment", wantCalls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			pr := e.gh.AddPullRequest("acme", "app", githubtest.PR{})
			var known int64
			if tc.known {
				known = e.gh.AddComment("acme", "app", pr.Number, botLogin, marker+"\nold").ID
			}
			e.gh.FailNext(tc.op, tc.status, tc.n, nil)
			_, err := e.client.UpsertComment(context.Background(), e.repo, pr.Number, known, marker, "new")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("UpsertComment = %v, want an error about %q", err, tc.wantErr)
			}
			if n := len(e.gh.CallsTo(tc.op)); n != tc.wantCalls {
				t.Errorf("%d calls to %s, want %d", n, tc.op, tc.wantCalls)
			}
			if got := e.sleeps.get(); fmt.Sprint(got) != fmt.Sprint(tc.wantSleeps) {
				t.Errorf("waits = %v, want %v", got, tc.wantSleeps)
			}
			// Nothing was created behind the error's back.
			for _, c := range e.gh.Comments("acme", "app", pr.Number) {
				if c.Body == marker+"\nnew" {
					t.Errorf("comment %d was written despite the error", c.ID)
				}
			}
		})
	}
}
