package githubtest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

func TestSignMatchesGoGitHubValidation(t *testing.T) {
	tests := []struct {
		name         string
		signWith     string
		validateWith string
		body         string
		wantValid    bool
	}{
		{"same secret", "s3cret", "s3cret", `{"action":"opened"}`, true},
		{"empty body", "s3cret", "s3cret", `{}`, true},
		{"unicode secret", "sécret-🔑", "sécret-🔑", `{"a":1}`, true},
		{"wrong secret", "s3cret", "other", `{"action":"opened"}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(github.SHA256SignatureHeader, githubtest.Sign([]byte(tc.signWith), []byte(tc.body)))
			payload, err := github.ValidatePayload(req, []byte(tc.validateWith))
			if (err == nil) != tc.wantValid {
				t.Fatalf("ValidatePayload err = %v, want valid=%v", err, tc.wantValid)
			}
			if tc.wantValid && string(payload) != tc.body {
				t.Errorf("payload = %q, want %q", payload, tc.body)
			}
		})
	}
}

// receiver is a webhook endpoint that validates and parses deliveries the
// way ferry will, with go-github.
type receiver struct {
	secret string
	event  any
	header http.Header
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	payload, err := github.ValidatePayload(r, []byte(rc.secret))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.event, err = github.ParseWebHook(github.WebHookType(r), payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.header = r.Header.Clone()
	w.WriteHeader(http.StatusAccepted)
}

func TestDeliver(t *testing.T) {
	rc := &receiver{secret: "hook-secret"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	repo := githubtest.Repo{Owner: "acme", Name: "app"}
	body := githubtest.PullRequestPayload(t, "opened", repo, githubtest.PR{Number: 4})

	resp := githubtest.Deliver(t, srv.URL, "hook-secret", "pull_request", body, "delivery-1")
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("status = %d: %s", resp.StatusCode, msg)
	}
	ev, ok := rc.event.(*github.PullRequestEvent)
	if !ok || ev.GetNumber() != 4 || ev.GetRepo().GetFullName() != "acme/app" {
		t.Fatalf("event = %#v", rc.event)
	}
	if rc.header.Get("X-GitHub-Delivery") != "delivery-1" || rc.header.Get("X-GitHub-Event") != "pull_request" {
		t.Errorf("headers = %v", rc.header)
	}

	resp = githubtest.Deliver(t, srv.URL, "wrong-secret", "pull_request", body, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("delivery signed with the wrong secret: status %d, want 401", resp.StatusCode)
	}
}

func TestPullRequestPayload(t *testing.T) {
	repo := githubtest.Repo{Owner: "acme", Name: "app", CloneURL: "http://127.0.0.1:1/acme/app.git", InstallationID: 99}
	fork := githubtest.Repo{Owner: "mallory", Name: "app-fork"}
	base := githubtest.PR{
		Number: 12, Title: "Bump web to v2", User: "alice", HeadRef: "bump-web", HeadSHA: strings.Repeat("a", 40),
		BaseRef: "main", BaseSHA: strings.Repeat("b", 40), Labels: []string{"ferry"},
	}
	tests := []struct {
		name   string
		action string
		edit   func(pr *githubtest.PR)
		check  func(t *testing.T, ev *github.PullRequestEvent)
	}{
		{name: "opened", action: "opened", check: func(t *testing.T, ev *github.PullRequestEvent) {
			if ev.GetPullRequest().GetState() != "open" || ev.GetPullRequest().GetMerged() {
				t.Errorf("state %s merged %v", ev.GetPullRequest().GetState(), ev.GetPullRequest().GetMerged())
			}
		}},
		{name: "synchronize", action: "synchronize", edit: func(pr *githubtest.PR) { pr.BeforeSHA = strings.Repeat("c", 40) },
			check: func(t *testing.T, ev *github.PullRequestEvent) {
				if ev.GetBefore() != strings.Repeat("c", 40) || ev.GetAfter() != strings.Repeat("a", 40) {
					t.Errorf("before %s after %s", ev.GetBefore(), ev.GetAfter())
				}
			}},
		{name: "reopened", action: "reopened"},
		{name: "ready_for_review", action: "ready_for_review"},
		{name: "edited base", action: "edited",
			edit: func(pr *githubtest.PR) {
				pr.Changes = map[string]any{"base": map[string]any{"ref": map[string]any{"from": "staging"}}}
			},
			check: func(t *testing.T, ev *github.PullRequestEvent) {
				if ev.GetChanges().GetBase().GetRef().GetFrom() != "staging" {
					t.Errorf("changes = %+v", ev.GetChanges())
				}
			}},
		{name: "closed unmerged", action: "closed", edit: func(pr *githubtest.PR) { pr.State = "closed" },
			check: func(t *testing.T, ev *github.PullRequestEvent) {
				if ev.GetPullRequest().GetMerged() || ev.GetPullRequest().GetState() != "closed" {
					t.Errorf("merged %v state %s", ev.GetPullRequest().GetMerged(), ev.GetPullRequest().GetState())
				}
			}},
		{name: "closed merged", action: "closed",
			edit: func(pr *githubtest.PR) {
				pr.Merged, pr.MergedBy, pr.MergeCommitSHA = true, "bob", strings.Repeat("d", 40)
			},
			check: func(t *testing.T, ev *github.PullRequestEvent) {
				p := ev.GetPullRequest()
				if !p.GetMerged() || p.GetMergedBy().GetLogin() != "bob" || p.GetMergeCommitSHA() != strings.Repeat("d", 40) ||
					p.GetMergedAt().IsZero() || ev.GetSender().GetLogin() != "bob" {
					t.Errorf("merged %v by %s sha %s at %v sender %s", p.GetMerged(), p.GetMergedBy().GetLogin(),
						p.GetMergeCommitSHA(), p.GetMergedAt(), ev.GetSender().GetLogin())
				}
			}},
		{name: "from a fork", action: "opened", edit: func(pr *githubtest.PR) { pr.HeadRepo = &fork },
			check: func(t *testing.T, ev *github.PullRequestEvent) {
				h := ev.GetPullRequest().GetHead()
				if h.GetRepo().GetFullName() != "mallory/app-fork" || !h.GetRepo().GetFork() || h.GetLabel() != "mallory:bump-web" ||
					ev.GetPullRequest().GetBase().GetRepo().GetFullName() != "acme/app" {
					t.Errorf("head %s fork %v label %s", h.GetRepo().GetFullName(), h.GetRepo().GetFork(), h.GetLabel())
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr := base
			if tc.edit != nil {
				tc.edit(&pr)
			}
			body := githubtest.PullRequestPayload(t, tc.action, repo, pr)
			if bytes.Contains(body, []byte("Codertocat/Hello-World")) {
				t.Errorf("payload still names the example repository")
			}
			parsed, err := github.ParseWebHook("pull_request", body)
			if err != nil {
				t.Fatal(err)
			}
			ev := parsed.(*github.PullRequestEvent)
			p := ev.GetPullRequest()
			if ev.GetAction() != tc.action || ev.GetNumber() != 12 || p.GetNumber() != 12 || p.GetTitle() != "Bump web to v2" ||
				p.GetUser().GetLogin() != "alice" || p.GetHead().GetRef() != "bump-web" || p.GetHead().GetSHA() != strings.Repeat("a", 40) ||
				p.GetBase().GetRef() != "main" || p.GetBase().GetSHA() != strings.Repeat("b", 40) ||
				len(p.Labels) != 1 || p.Labels[0].GetName() != "ferry" ||
				p.GetHTMLURL() != "https://github.com/acme/app/pull/12" {
				t.Errorf("pull request = action %s #%d %q by %s head %s@%s base %s@%s labels %v url %s",
					ev.GetAction(), p.GetNumber(), p.GetTitle(), p.GetUser().GetLogin(), p.GetHead().GetRef(),
					p.GetHead().GetSHA(), p.GetBase().GetRef(), p.GetBase().GetSHA(), p.Labels, p.GetHTMLURL())
			}
			r := ev.GetRepo()
			if r.GetFullName() != "acme/app" || r.GetOwner().GetLogin() != "acme" || r.GetCloneURL() != repo.CloneURL ||
				r.GetDefaultBranch() != "main" || ev.GetInstallation().GetID() != 99 {
				t.Errorf("repository %s owner %s clone %s installation %d", r.GetFullName(), r.GetOwner().GetLogin(),
					r.GetCloneURL(), ev.GetInstallation().GetID())
			}
			if tc.check != nil {
				tc.check(t, ev)
			}
		})
	}
}

func TestEventPayloadsMatchTheFakesState(t *testing.T) {
	s := githubtest.New(t)
	repo := s.AddRepo(githubtest.Repo{Owner: "acme", Name: "app"})
	pr := s.AddPullRequest("acme", "app", githubtest.PR{User: "alice"})
	issue := s.AddIssue("acme", "app", githubtest.Issue{Title: "tracking"})

	t.Run("issue_comment on a pull request", func(t *testing.T) {
		c := s.AddComment("acme", "app", pr.Number, "carol", "/ferry sync")
		parsed, err := github.ParseWebHook("issue_comment", githubtest.IssueCommentPayload(t, "created", repo, c))
		if err != nil {
			t.Fatal(err)
		}
		ev := parsed.(*github.IssueCommentEvent)
		if !ev.GetIssue().IsPullRequest() || ev.GetIssue().GetNumber() != pr.Number || ev.GetComment().GetID() != c.ID ||
			ev.GetComment().GetBody() != "/ferry sync" || ev.GetComment().GetUser().GetLogin() != "carol" ||
			ev.GetSender().GetLogin() != "carol" || ev.GetRepo().GetFullName() != "acme/app" || ev.GetInstallation().GetID() != githubtest.DefaultInstallationID {
			t.Errorf("event = PR %v #%d comment %d %q by %s", ev.GetIssue().IsPullRequest(), ev.GetIssue().GetNumber(),
				ev.GetComment().GetID(), ev.GetComment().GetBody(), ev.GetComment().GetUser().GetLogin())
		}
	})
	t.Run("issue_comment on an issue", func(t *testing.T) {
		c := s.AddComment("acme", "app", issue.Number, "carol", "hello")
		parsed, err := github.ParseWebHook("issue_comment", githubtest.IssueCommentPayload(t, "created", repo, c))
		if err != nil {
			t.Fatal(err)
		}
		if ev := parsed.(*github.IssueCommentEvent); ev.GetIssue().IsPullRequest() || ev.GetIssue().GetNumber() != issue.Number {
			t.Errorf("issue is PR %v, number %d", ev.GetIssue().IsPullRequest(), ev.GetIssue().GetNumber())
		}
	})
	t.Run("pull_request_review", func(t *testing.T) {
		for _, tc := range []struct{ action, wantState string }{{"submitted", "approved"}, {"dismissed", "dismissed"}} {
			r := s.AddReview("acme", "app", pr.Number, githubtest.Review{User: "bob", State: "APPROVED"})
			parsed, err := github.ParseWebHook("pull_request_review", githubtest.PullRequestReviewPayload(t, tc.action, repo, pr, r))
			if err != nil {
				t.Fatal(err)
			}
			ev := parsed.(*github.PullRequestReviewEvent)
			if ev.GetAction() != tc.action || ev.GetReview().GetID() != r.ID || ev.GetReview().GetState() != tc.wantState ||
				ev.GetReview().GetUser().GetLogin() != "bob" || ev.GetReview().GetCommitID() != pr.HeadSHA ||
				ev.GetPullRequest().GetNumber() != pr.Number {
				t.Errorf("%s: review %d state %s by %s on #%d", tc.action, ev.GetReview().GetID(), ev.GetReview().GetState(),
					ev.GetReview().GetUser().GetLogin(), ev.GetPullRequest().GetNumber())
			}
		}
	})
	t.Run("check_run", func(t *testing.T) {
		cr := githubtest.CheckRun{ID: 77, Name: "ferry/plan", HeadSHA: pr.HeadSHA, Status: "completed", Conclusion: "failure",
			AppID: 42, AppSlug: "ferry"}
		parsed, err := github.ParseWebHook("check_run", githubtest.CheckRunPayload(t, "rerequested", repo, cr, pr))
		if err != nil {
			t.Fatal(err)
		}
		ev := parsed.(*github.CheckRunEvent)
		c := ev.GetCheckRun()
		if ev.GetAction() != "rerequested" || c.GetID() != 77 || c.GetName() != "ferry/plan" || c.GetHeadSHA() != pr.HeadSHA ||
			c.GetApp().GetID() != 42 || len(c.PullRequests) != 1 || c.PullRequests[0].GetNumber() != pr.Number ||
			c.GetCheckSuite().GetHeadBranch() != pr.HeadRef || ev.GetRepo().GetFullName() != "acme/app" {
			t.Errorf("check run %d %s sha %s app %d prs %v", c.GetID(), c.GetName(), c.GetHeadSHA(), c.GetApp().GetID(), c.PullRequests)
		}
	})
}

func TestPushPayload(t *testing.T) {
	repo := githubtest.Repo{Owner: "acme", Name: "app", DefaultBranch: "trunk"}
	tests := []struct {
		name        string
		push        githubtest.Push
		wantRef     string
		wantCommits int
		wantHead    bool
	}{
		{name: "defaults", wantRef: "refs/heads/trunk", wantCommits: 1, wantHead: true},
		{name: "commits", wantRef: "refs/heads/env/prod", wantCommits: 2, wantHead: true, push: githubtest.Push{
			Ref: "refs/heads/env/prod", Before: strings.Repeat("1", 40), After: strings.Repeat("3", 40), Pusher: "alice",
			Commits: []githubtest.PushCommit{
				{ID: strings.Repeat("2", 40), Message: "one", Added: []string{"apps/web.yaml"}},
				{ID: strings.Repeat("3", 40), Message: "two", Modified: []string{"apps/api.yaml"}},
			},
		}},
		{name: "branch deleted", wantRef: "refs/heads/old", wantCommits: 0, push: githubtest.Push{
			Ref: "refs/heads/old", Before: strings.Repeat("1", 40), After: strings.Repeat("0", 40), Deleted: true,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parsed, err := github.ParseWebHook("push", githubtest.PushPayload(t, repo, tc.push))
			if err != nil {
				t.Fatal(err)
			}
			ev := parsed.(*github.PushEvent)
			if ev.GetRef() != tc.wantRef || len(ev.Commits) != tc.wantCommits || (ev.HeadCommit != nil) != tc.wantHead ||
				ev.GetRepo().GetFullName() != "acme/app" || ev.GetDeleted() != tc.push.Deleted ||
				ev.GetInstallation().GetID() != githubtest.DefaultInstallationID {
				t.Fatalf("push ref %s commits %d head %v repo %s deleted %v", ev.GetRef(), len(ev.Commits), ev.HeadCommit,
					ev.GetRepo().GetFullName(), ev.GetDeleted())
			}
			if tc.push.Commits != nil {
				if ev.GetAfter() != tc.push.After || ev.GetHeadCommit().GetID() != tc.push.After ||
					ev.Commits[0].Added[0] != "apps/web.yaml" || ev.Commits[1].Modified[0] != "apps/api.yaml" ||
					ev.GetPusher().GetName() != "alice" {
					t.Errorf("after %s head %s commits %+v pusher %v", ev.GetAfter(), ev.GetHeadCommit().GetID(), ev.Commits, ev.GetPusher())
				}
			}
		})
	}
}

func TestEveryStoredPayloadParses(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "github", "webhooks")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"check_run.rerequested", "installation.created", "issue_comment.created", "issue_comment.created.pull_request",
		"merge_group.checks_requested", "merge_group.destroyed", "pull_request.closed", "pull_request.closed.merged", "pull_request.edited", "pull_request.opened",
		"pull_request.ready_for_review", "pull_request.reopened", "pull_request.synchronize",
		"pull_request_review.dismissed", "pull_request_review.submitted", "push",
	}
	var got []string
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		got = append(got, name)
		t.Run(name, func(t *testing.T) {
			event, _, _ := strings.Cut(name, ".")
			p := githubtest.LoadPayload(t, name)
			if _, ok := p["sender"]; !ok {
				t.Errorf("payload has no sender")
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := github.ParseWebHook(event, data); err != nil {
				t.Errorf("go-github cannot parse it as %s: %v", event, err)
			}
		})
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("payload files = %v\nwant %v", got, want)
	}
}
