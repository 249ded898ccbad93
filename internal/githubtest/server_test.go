package githubtest_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

const testToken = "ghs_testtoken"

// newClient is a go-github client on the fake, authenticated with a token
// the fake accepts for the default installation.
func newClient(t *testing.T, opts ...githubtest.Option) (*githubtest.Server, *github.Client) {
	t.Helper()
	opts = append(opts, githubtest.WithToken(testToken, githubtest.DefaultInstallationID))
	s := githubtest.New(t, opts...)
	return s, clientFor(t, s, testToken)
}

func clientFor(t *testing.T, s *githubtest.Server, tok string) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(tok)
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// recordingTB observes what the fake reports to its test at cleanup.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recordingTB) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func rawCall(t *testing.T, s *githubtest.Server, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.URL(), "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func TestCallsThatGitHubWouldRejectFailTheTest(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantOp     string
		wantError  string // substring of the cleanup error; "" means none
	}{
		{
			name: "modelled operation", method: "POST", path: "/repos/acme/app/issues/1/comments",
			body: `{"body":"hi"}`, wantStatus: 201, wantOp: "issues/create-comment",
		},
		{
			name: "unknown path", method: "GET", path: "/repos/acme/app/nonsense",
			wantStatus: 404, wantError: "GET /repos/acme/app/nonsense matches no operation",
		},
		{
			name: "known path, wrong method", method: "PUT", path: "/repos/acme/app/issues/1/comments",
			body: `{"body":"hi"}`, wantStatus: 404, wantError: "matches no operation",
		},
		{
			name: "missing required body property", method: "POST", path: "/repos/acme/app/check-runs",
			body: `{"name":"ferry"}`, wantStatus: 422, wantOp: "checks/create", wantError: `"head_sha" wasn't supplied`,
		},
		{
			name: "wrongly typed body property", method: "POST", path: "/repos/acme/app/issues/1/comments",
			body: `{"body":42}`, wantStatus: 422, wantOp: "issues/create-comment", wantError: `body is not of type "string"`,
		},
		{
			name: "value outside the enum", method: "POST", path: "/repos/acme/app/check-runs",
			body:       `{"name":"ferry","head_sha":"` + strings.Repeat("a", 40) + `","status":"running"}`,
			wantStatus: 422, wantOp: "checks/create", wantError: `"running" is not a member`,
		},
		{
			name: "real operation the fake does not model", method: "GET", path: "/repos/acme/app/releases",
			wantStatus: 501, wantOp: "repos/list-releases", wantError: "not modelled",
		},
		{
			name: "enterprise prefix", method: "GET", path: "/api/v3/repos/acme/app/issues/1",
			wantStatus: 200, wantOp: "issues/get",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			s := githubtest.New(tb, githubtest.WithToken(testToken, githubtest.DefaultInstallationID))
			s.AddIssue("acme", "app", githubtest.Issue{Title: "one"})
			resp, body := rawCall(t, s, tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].OperationID != tc.wantOp || calls[0].Status != tc.wantStatus {
				t.Errorf("calls = %+v, want one to %q answered %d", calls, tc.wantOp, tc.wantStatus)
			}
			tb.runCleanups()
			got := strings.Join(tb.errors, "\n")
			switch {
			case tc.wantError == "" && got != "":
				t.Errorf("cleanup failed the test unexpectedly: %s", got)
			case tc.wantError != "" && !strings.Contains(got, tc.wantError):
				t.Errorf("cleanup errors = %q, want one containing %q", got, tc.wantError)
			}
			if tc.wantStatus == 404 && tc.wantOp == "" && !strings.Contains(string(body), "REST description") {
				t.Errorf("404 body does not explain the mismatch: %s", body)
			}
		})
	}
}

func TestRoutesToTheMostSpecificOperation(t *testing.T) {
	tests := []struct {
		method, path, wantOp string
	}{
		{"GET", "/repos/acme/app/issues/comments", "issues/list-comments-for-repo"},
		{"GET", "/repos/acme/app/issues/7", "issues/get"},
		{"GET", "/repos/acme/app/issues/comments/9", "issues/get-comment"},
		{"GET", "/repos/acme/app/git/ref/heads/feature/deep/branch", "git/get-ref"},
		{"GET", "/repos/acme/app/commits/env%2Fstaging/check-runs", "checks/list-for-ref"},
		{"GET", "/repos/acme/app/commits/refs/heads/main/check-runs", "checks/list-for-ref"},
		{"POST", "/app/installations/1/access_tokens", "apps/create-installation-access-token"},
		{"GET", "/repos/acme/app/collaborators/alice/permission", "repos/get-collaborator-permission-level"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			s := githubtest.New(tb)
			rawCall(t, s, tc.method, tc.path, "")
			if calls := s.Calls(); len(calls) != 1 || calls[0].OperationID != tc.wantOp {
				t.Errorf("calls = %+v, want operation %q", calls, tc.wantOp)
			}
			tb.runCleanups()
		})
	}
}

func TestCommentLifecycleWithGoGitHub(t *testing.T) {
	ctx := context.Background()
	s, gh := newClient(t)
	pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{Title: "Add staging"})

	created, _, err := gh.Issues.CreateComment(ctx, "acme", "app", pr.Number, &github.IssueComment{Body: github.String("plan: 3 changes")})
	if err != nil {
		t.Fatalf("CreateComment: %v", err)
	}
	if created.GetID() == 0 || created.GetUser().GetLogin() != "ferry[bot]" || created.GetUser().GetType() != "Bot" {
		t.Errorf("created comment = %+v, want an id and author ferry[bot]", created)
	}
	wantURL := fmt.Sprintf("https://github.com/acme/app/pull/%d#issuecomment-%d", pr.Number, created.GetID())
	if created.GetHTMLURL() != wantURL || created.GetCreatedAt().IsZero() || created.GetNodeID() == "" {
		t.Errorf("created comment html_url=%q created_at=%v node_id=%q, want %q and both set",
			created.GetHTMLURL(), created.GetCreatedAt(), created.GetNodeID(), wantURL)
	}

	edited, _, err := gh.Issues.EditComment(ctx, "acme", "app", created.GetID(), &github.IssueComment{Body: github.String("plan: 4 changes")})
	if err != nil || edited.GetBody() != "plan: 4 changes" {
		t.Fatalf("EditComment = %v, %v", edited.GetBody(), err)
	}
	list, _, err := gh.Issues.ListComments(ctx, "acme", "app", pr.Number, nil)
	if err != nil || len(list) != 1 || list[0].GetBody() != "plan: 4 changes" {
		t.Fatalf("ListComments = %v, %v; want the edited comment", list, err)
	}
	got := s.Comments("acme", "app", pr.Number)
	if len(got) != 1 || got[0].Body != "plan: 4 changes" || !got[0].IsPullRequest {
		t.Errorf("Comments = %+v", got)
	}

	if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", created.GetID(), "eyes"); err != nil {
		t.Fatalf("CreateIssueCommentReaction: %v", err)
	}
	if r := s.Reactions(created.GetID()); len(r) != 1 || r[0].Content != "eyes" {
		t.Errorf("Reactions = %+v, want one eyes", r)
	}

	if _, err := gh.Issues.DeleteComment(ctx, "acme", "app", created.GetID()); err != nil {
		t.Fatalf("DeleteComment: %v", err)
	}
	if got := s.Comments("acme", "app", pr.Number); len(got) != 0 {
		t.Errorf("Comments after delete = %+v", got)
	}
	_, resp, err := gh.Issues.EditComment(ctx, "acme", "app", created.GetID(), &github.IssueComment{Body: github.String("x")})
	if err == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("editing a deleted comment: err=%v, want 404", err)
	}

	ops := []string{}
	for _, c := range s.Calls() {
		ops = append(ops, c.OperationID)
	}
	want := "issues/create-comment issues/update-comment issues/list-comments reactions/create-for-issue-comment issues/delete-comment issues/update-comment"
	if strings.Join(ops, " ") != want {
		t.Errorf("operations = %s\nwant         %s", strings.Join(ops, " "), want)
	}
	if n := len(s.CallsTo("issues/update-comment")); n != 2 {
		t.Errorf("CallsTo(update-comment) = %d calls, want 2", n)
	}
	bodies := s.AllBodies()
	if len(bodies) != 4 || !strings.Contains(string(bodies[0]), "plan: 3 changes") {
		t.Errorf("AllBodies = %q", bodies)
	}
}

func TestCommentBodyLimit(t *testing.T) {
	tests := []struct {
		name       string
		char       string
		length     int
		wantStatus int
	}{
		{"at the limit", "x", 65536, http.StatusCreated},
		{"one over", "x", 65537, http.StatusUnprocessableEntity},
		{"multi-byte at the limit counts characters", "é", 65536, http.StatusCreated},
		{"multi-byte one over", "é", 65537, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, gh := newClient(t)
			pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{})
			body := strings.Repeat(tc.char, tc.length)
			_, resp, err := gh.Issues.CreateComment(context.Background(), "acme", "app", pr.Number, &github.IssueComment{Body: &body})
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (err %v)", resp.StatusCode, tc.wantStatus, err)
			}
			if tc.wantStatus != http.StatusUnprocessableEntity {
				return
			}
			var ge *github.ErrorResponse
			if !errors.As(err, &ge) || len(ge.Errors) != 1 ||
				ge.Errors[0].Message != "Body is too long (maximum is 65536 characters)" || ge.Errors[0].Resource != "IssueComment" {
				t.Errorf("error = %#v, want GitHub's body-too-long validation error", err)
			}
			if n := len(s.Comments("acme", "app", pr.Number)); n != 0 {
				t.Errorf("a rejected comment was stored (%d comments)", n)
			}
		})
	}
}

func TestCommentPagination(t *testing.T) {
	s, gh := newClient(t)
	pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{})
	for i := range 75 {
		s.AddComment("acme", "app", pr.Number, "alice", "comment "+strconv.Itoa(i))
	}
	tests := []struct {
		perPage       int
		wantPages     int
		wantFirstPage int
	}{
		{perPage: 0, wantPages: 3, wantFirstPage: 30}, // GitHub's default is 30
		{perPage: 10, wantPages: 8, wantFirstPage: 10},
		{perPage: 100, wantPages: 1, wantFirstPage: 75},
		{perPage: 500, wantPages: 1, wantFirstPage: 75}, // capped at 100
	}
	for _, tc := range tests {
		t.Run("per_page="+strconv.Itoa(tc.perPage), func(t *testing.T) {
			opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: tc.perPage}}
			var bodies []string
			pages := 0
			for {
				list, resp, err := gh.Issues.ListComments(context.Background(), "acme", "app", pr.Number, opts)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if pages == 1 {
					if len(list) != tc.wantFirstPage {
						t.Errorf("first page has %d comments, want %d", len(list), tc.wantFirstPage)
					}
					if tc.wantPages > 1 && resp.LastPage != tc.wantPages {
						t.Errorf("Link last page = %d, want %d (Link: %s)", resp.LastPage, tc.wantPages, resp.Header.Get("Link"))
					}
				}
				for _, c := range list {
					bodies = append(bodies, c.GetBody())
				}
				if resp.NextPage == 0 {
					break
				}
				opts.Page = resp.NextPage
			}
			if pages != tc.wantPages || len(bodies) != 75 || bodies[0] != "comment 0" || bodies[74] != "comment 74" {
				t.Errorf("walked %d pages and %d comments (%q…%q), want %d pages of all 75 in order",
					pages, len(bodies), bodies[0], bodies[len(bodies)-1], tc.wantPages)
			}
		})
	}
}

func annotations(n int) []*github.CheckRunAnnotation {
	out := make([]*github.CheckRunAnnotation, n)
	for i := range out {
		out[i] = &github.CheckRunAnnotation{
			Path: github.String("apps/web/deployment.yaml"), StartLine: github.Int(i + 1), EndLine: github.Int(i + 1),
			AnnotationLevel: github.String("warning"), Message: github.String("image tag changed"),
		}
	}
	return out
}

func TestCheckRunLimits(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	tests := []struct {
		name        string
		opts        github.CreateCheckRunOptions
		wantStatus  int
		wantMessage string
	}{
		{
			name: "50 annotations", wantStatus: 201,
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String("ok"), Annotations: annotations(50)}},
		},
		{
			name: "51 annotations", wantStatus: 422, wantMessage: "No more than 50 items are allowed; 51 were supplied.",
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String("ok"), Annotations: annotations(51)}},
		},
		{
			name: "summary at 65535 characters", wantStatus: 201,
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String(strings.Repeat("s", 65535))}},
		},
		{
			name: "summary over 65535 characters", wantStatus: 422, wantMessage: "Only 65535 characters are allowed; 65536 were supplied.",
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String(strings.Repeat("s", 65536))}},
		},
		{
			name: "text over 65535 characters", wantStatus: 422, wantMessage: "Only 65535 characters are allowed",
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String("s"), Text: github.String(strings.Repeat("t", 70000))}},
		},
		{
			name: "multi-byte summary over 65535 bytes", wantStatus: 422, wantMessage: "Validation Failed",
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{
				Title: github.String("plan"), Summary: github.String(strings.Repeat("é", 40000))}},
		},
		{
			name: "completed without conclusion", wantStatus: 422, wantMessage: "conclusion",
			opts: github.CreateCheckRunOptions{Status: github.String("completed")},
		},
		{
			name: "output without title", wantStatus: 422, wantMessage: `"title" wasn't supplied`,
			opts: github.CreateCheckRunOptions{Output: &github.CheckRunOutput{Summary: github.String("s")}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, gh := newClient(t)
			s.AddRepo(githubtest.Repo{Owner: "acme", Name: "app"})
			tc.opts.Name, tc.opts.HeadSHA = "ferry/plan", sha
			_, resp, err := gh.Checks.CreateCheckRun(context.Background(), "acme", "app", tc.opts)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (err %v)", resp.StatusCode, tc.wantStatus, err)
			}
			if tc.wantMessage != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMessage)) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantMessage)
			}
			wantRuns := 0
			if tc.wantStatus == 201 {
				wantRuns = 1
			}
			if n := len(s.CheckRuns("acme", "app", sha)); n != wantRuns {
				t.Errorf("stored %d check runs, want %d", n, wantRuns)
			}
		})
	}
}

func TestCheckRunLifecycle(t *testing.T) {
	ctx := context.Background()
	s, gh := newClient(t)
	pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{HeadSHA: strings.Repeat("c", 40)})

	run, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{
		Name: "ferry/plan", HeadSHA: pr.HeadSHA, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String("planning"), Summary: github.String("…"), Annotations: annotations(50)},
	})
	if err != nil {
		t.Fatalf("CreateCheckRun: %v", err)
	}
	if len(run.PullRequests) != 1 || run.PullRequests[0].GetNumber() != pr.Number || run.GetApp().GetSlug() != "ferry" {
		t.Errorf("check run pull_requests=%v app=%v, want the PR and the ferry App", run.PullRequests, run.GetApp())
	}
	// A second batch of annotations goes through update and accumulates.
	_, _, err = gh.Checks.UpdateCheckRun(ctx, "acme", "app", run.GetID(), github.UpdateCheckRunOptions{
		Conclusion: github.String("success"),
		Output:     &github.CheckRunOutput{Summary: github.String("3 apps changed"), Annotations: annotations(20)},
	})
	if err != nil {
		t.Fatalf("UpdateCheckRun: %v", err)
	}
	runs := s.CheckRuns("acme", "app", pr.HeadSHA)
	if len(runs) != 1 {
		t.Fatalf("CheckRuns = %+v", runs)
	}
	got := runs[0]
	if got.Name != "ferry/plan" || got.Status != "completed" || got.Conclusion != "success" ||
		got.Title != "planning" || got.Summary != "3 apps changed" || len(got.Annotations) != 70 || got.Updates != 1 ||
		got.CompletedAt.IsZero() {
		t.Errorf("check run = %+v, want completed/success with title kept, summary replaced, 70 annotations", got)
	}

	// A newer run of the same name hides the older one under filter=latest.
	if _, _, err := gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "ferry/plan", HeadSHA: pr.HeadSHA}); err != nil {
		t.Fatal(err)
	}
	latest, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", pr.HeadSHA, nil)
	if err != nil || latest.GetTotal() != 1 || latest.CheckRuns[0].GetStatus() != "queued" {
		t.Errorf("ListCheckRunsForRef(latest) = %+v, %v; want only the new queued run", latest, err)
	}
	all, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "app", pr.HeadRef, &github.ListCheckRunsOptions{Filter: github.String("all")})
	if err != nil || all.GetTotal() != 2 {
		t.Errorf("ListCheckRunsForRef(branch, all) = %+v, %v; want both runs", all, err)
	}
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		check  func(t *testing.T, err error)
	}{
		{"server error", 500, nil, expectErrorResponse(500)},
		{"bad gateway", 502, nil, expectErrorResponse(502)},
		{"not found", 404, nil, expectErrorResponse(404)},
		{"secondary rate limit", 403, http.Header{"Retry-After": {"0"}}, func(t *testing.T, err error) {
			var e *github.AbuseRateLimitError
			if !errors.As(err, &e) || e.RetryAfter == nil || !strings.Contains(e.Message, "secondary rate limit") {
				t.Errorf("err = %#v, want an AbuseRateLimitError with RetryAfter", err)
			}
		}},
		{"primary rate limit", 403, http.Header{
			"X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset":     {strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)},
		}, func(t *testing.T, err error) {
			var e *github.RateLimitError
			if !errors.As(err, &e) {
				t.Errorf("err = %#v, want a RateLimitError", err)
			}
		}},
		{"too many requests", 429, http.Header{"Retry-After": {"0"}}, expectErrorResponse(429)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, gh := newClient(t)
			pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{})
			s.FailNext("issues/create-comment", tc.status, 2, tc.header)
			for i := range 2 {
				_, resp, err := gh.Issues.CreateComment(context.Background(), "acme", "app", pr.Number, &github.IssueComment{Body: github.String("x")})
				if resp == nil || resp.StatusCode != tc.status {
					t.Fatalf("call %d: resp=%v err=%v, want status %d", i, resp, err, tc.status)
				}
				tc.check(t, err)
			}
			if _, _, err := gh.Issues.CreateComment(context.Background(), "acme", "app", pr.Number, &github.IssueComment{Body: github.String("x")}); err != nil {
				t.Fatalf("third call: %v, want success after the faults", err)
			}
			if n := len(s.Comments("acme", "app", pr.Number)); n != 1 {
				t.Errorf("%d comments stored, want only the successful one", n)
			}
			calls := s.CallsTo("issues/create-comment")
			if len(calls) != 3 || calls[0].Status != tc.status || calls[2].Status != http.StatusCreated {
				t.Errorf("recorded calls = %+v", calls)
			}
		})
	}
}

func expectErrorResponse(status int) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var e *github.ErrorResponse
		if !errors.As(err, &e) || e.Response.StatusCode != status || e.Message == "" {
			t.Errorf("err = %#v, want an ErrorResponse %d with a message", err, status)
		}
	}
}

func TestInstallationAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		verifier *rsa.PublicKey
		appID    int64
		wantOK   bool
	}{
		{"signed by the App key", &key.PublicKey, 42, true},
		{"shape only", nil, 42, true},
		{"signed by another key", &other.PublicKey, 42, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []githubtest.Option
			if tc.verifier != nil {
				opts = append(opts, githubtest.WithAppKey(tc.appID, tc.verifier))
			}
			s := githubtest.New(t, opts...)
			s.AddRepo(githubtest.Repo{Owner: "acme", Name: "app", InstallationID: 7})
			tr, err := ghinstallation.New(http.DefaultTransport, tc.appID, 7, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			tr.BaseURL = strings.TrimSuffix(s.URL(), "/")
			gh := github.NewClient(&http.Client{Transport: tr})
			gh.BaseURL, _ = url.Parse(s.URL())

			repo, _, err := gh.Repositories.Get(context.Background(), "acme", "app")
			if (err == nil) != tc.wantOK {
				t.Fatalf("Repositories.Get err = %v, want ok=%v", err, tc.wantOK)
			}
			tokCalls := s.CallsTo("apps/create-installation-access-token")
			if len(tokCalls) != 1 || !strings.HasPrefix(tokCalls[0].Header.Get("Authorization"), "Bearer ey") {
				t.Fatalf("access token calls = %+v, want one with a Bearer JWT", tokCalls)
			}
			if !tc.wantOK {
				if tokCalls[0].Status != http.StatusUnauthorized {
					t.Errorf("token call status = %d, want 401", tokCalls[0].Status)
				}
				return
			}
			if repo.GetFullName() != "acme/app" || repo.GetDefaultBranch() != "main" {
				t.Errorf("repo = %s (default %s)", repo.GetFullName(), repo.GetDefaultBranch())
			}
			get := s.CallsTo("repos/get")
			if len(get) != 1 || !strings.HasPrefix(get[0].Header.Get("Authorization"), "token ghs_") {
				t.Errorf("repos/get calls = %+v, want one with the minted installation token", get)
			}

			// App-level calls go with the JWT alone.
			atr, err := ghinstallation.NewAppsTransport(http.DefaultTransport, tc.appID, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			atr.BaseURL = tr.BaseURL
			app := github.NewClient(&http.Client{Transport: atr})
			app.BaseURL = gh.BaseURL
			inst, _, err := app.Apps.FindRepositoryInstallation(context.Background(), "acme", "app")
			if err != nil || inst.GetID() != 7 || inst.GetAccount().GetLogin() != "acme" {
				t.Errorf("FindRepositoryInstallation = %v, %v; want installation 7 of acme", inst, err)
			}
		})
	}
}

func TestTokensAreScopedToTheirInstallation(t *testing.T) {
	s := githubtest.New(t, githubtest.WithToken("ghs_one", 1), githubtest.WithToken("ghs_two", 2))
	s.AddRepo(githubtest.Repo{Owner: "acme", Name: "one", InstallationID: 1})
	s.AddRepo(githubtest.Repo{Owner: "other", Name: "two", InstallationID: 2})
	tests := []struct {
		tok, owner, repo string
		wantStatus       int
	}{
		{"ghs_one", "acme", "one", 200},
		{"ghs_one", "other", "two", 404},
		{"ghs_two", "other", "two", 200},
		{"ghs_bogus", "acme", "one", 401},
		{"ghs_one", "acme", "missing", 404},
	}
	for _, tc := range tests {
		_, resp, _ := clientFor(t, s, tc.tok).Repositories.Get(context.Background(), tc.owner, tc.repo)
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("%s on %s/%s: status %d, want %d", tc.tok, tc.owner, tc.repo, resp.StatusCode, tc.wantStatus)
		}
	}
}

func TestPullRequestsAndIssues(t *testing.T) {
	ctx := context.Background()
	s, gh := newClient(t)
	s.SetBranch("acme", "app", "main", strings.Repeat("1", 40))
	s.SetBranch("acme", "app", "ferry/promote-prod", strings.Repeat("2", 40))
	seeded := s.AddPullRequest("acme", "app", githubtest.PullRequest{
		User: "alice", HeadRef: "env-change", Labels: []string{"ferry"},
		Files: []githubtest.File{{Filename: "envs/prod/values.yaml", Additions: 2, Deletions: 1, Patch: "@@ -1 +1,2 @@"}},
	})
	s.AddReview("acme", "app", seeded.Number, githubtest.Review{User: "bob", State: "approved"})

	got, _, err := gh.PullRequests.Get(ctx, "acme", "app", seeded.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetHead().GetSHA() != seeded.HeadSHA || got.GetBase().GetRef() != "main" || got.GetUser().GetLogin() != "alice" ||
		got.GetChangedFiles() != 1 || !got.GetMergeable() || got.GetHead().GetRepo().GetFullName() != "acme/app" {
		t.Errorf("pulls/get = head %s base %s user %s files %d", got.GetHead().GetSHA(), got.GetBase().GetRef(), got.GetUser().GetLogin(), got.GetChangedFiles())
	}
	files, _, err := gh.PullRequests.ListFiles(ctx, "acme", "app", seeded.Number, nil)
	if err != nil || len(files) != 1 || files[0].GetFilename() != "envs/prod/values.yaml" || files[0].GetChanges() != 3 {
		t.Errorf("ListFiles = %v, %v", files, err)
	}
	reviews, _, err := gh.PullRequests.ListReviews(ctx, "acme", "app", seeded.Number, nil)
	if err != nil || len(reviews) != 1 || reviews[0].GetState() != "APPROVED" || reviews[0].GetCommitID() != seeded.HeadSHA {
		t.Errorf("ListReviews = %v, %v", reviews, err)
	}

	created, _, err := gh.PullRequests.Create(ctx, "acme", "app", &github.NewPullRequest{
		Title: github.String("Promote to prod"), Head: github.String("ferry/promote-prod"), Base: github.String("main"),
	})
	if err != nil || created.GetNumber() != seeded.Number+1 || created.GetHead().GetSHA() != strings.Repeat("2", 40) {
		t.Fatalf("Create = %v, %v", created, err)
	}
	_, resp, err := gh.PullRequests.Create(ctx, "acme", "app", &github.NewPullRequest{
		Title: github.String("again"), Head: github.String("ferry/promote-prod"), Base: github.String("main"),
	})
	if resp.StatusCode != 422 || !strings.Contains(err.Error(), "A pull request already exists for acme:ferry/promote-prod") {
		t.Errorf("duplicate Create: %v", err)
	}
	_, resp, _ = gh.PullRequests.Create(ctx, "acme", "app", &github.NewPullRequest{
		Title: github.String("x"), Head: github.String("no-such-branch"), Base: github.String("main"),
	})
	if resp.StatusCode != 422 {
		t.Errorf("Create from an unknown branch: status %d, want 422", resp.StatusCode)
	}

	for _, tc := range []struct {
		head string
		want int
	}{{"acme:ferry/promote-prod", 1}, {"acme:env-change", 1}, {"ferry/promote-prod", 2}, {"", 2}} {
		list, _, err := gh.PullRequests.List(ctx, "acme", "app", &github.PullRequestListOptions{Head: tc.head})
		if err != nil || len(list) != tc.want {
			t.Errorf("List(head=%q) = %d PRs, %v; want %d", tc.head, len(list), err, tc.want)
		}
	}

	issue, _, err := gh.Issues.Create(ctx, "acme", "app", &github.IssueRequest{
		Title: github.String("Drift in prod"), Labels: &[]string{"ferry", "drift"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Issues.Edit(ctx, "acme", "app", created.GetNumber(), &github.IssueRequest{State: github.String("closed")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels []string
		state  string
		want   []int
	}{
		{[]string{"drift"}, "", []int{issue.GetNumber()}},
		{[]string{"ferry"}, "", []int{issue.GetNumber(), seeded.Number}}, // PRs are issues too; newest first
		{[]string{"ferry", "drift"}, "", []int{issue.GetNumber()}},
		{nil, "closed", []int{created.GetNumber()}},
		{[]string{"nope"}, "all", nil},
	} {
		list, _, err := gh.Issues.ListByRepo(ctx, "acme", "app", &github.IssueListByRepoOptions{Labels: tc.labels, State: tc.state})
		var nums []int
		for _, is := range list {
			nums = append(nums, is.GetNumber())
		}
		if err != nil || fmt.Sprint(nums) != fmt.Sprint(tc.want) {
			t.Errorf("ListByRepo(labels=%v state=%q) = %v, %v; want %v", tc.labels, tc.state, nums, err, tc.want)
		}
	}
	if prs := s.PullRequests("acme", "app"); len(prs) != 2 || prs[1].State != "closed" {
		t.Errorf("PullRequests = %+v, want the created one closed", prs)
	}
	if issues := s.Issues("acme", "app"); len(issues) != 1 || issues[0].User != "ferry[bot]" {
		t.Errorf("Issues = %+v", issues)
	}
}

func TestPermissions(t *testing.T) {
	s, gh := newClient(t)
	s.AddRepo(githubtest.Repo{Owner: "acme", Name: "private", Private: true})
	s.SetPermission("acme", "app", "alice", "maintain")
	s.SetPermission("acme", "app", "bob", "triage")
	tests := []struct {
		repo, user, wantPerm, wantRole string
	}{
		{"app", "alice", "write", "maintain"},
		{"app", "bob", "read", "triage"},
		{"app", "stranger", "read", "read"},
		{"private", "stranger", "none", "none"},
	}
	for _, tc := range tests {
		got, _, err := gh.Repositories.GetPermissionLevel(context.Background(), "acme", tc.repo, tc.user)
		if err != nil || got.GetPermission() != tc.wantPerm || got.GetUser().GetLogin() != tc.user {
			t.Errorf("%s on %s = %v, %v; want %s", tc.user, tc.repo, got.GetPermission(), err, tc.wantPerm)
		}
		// go-github v60 does not read role_name; ferry may, so check the raw JSON.
		_, body := rawCall(t, s, "GET", "/repos/acme/"+tc.repo+"/collaborators/"+tc.user+"/permission", "")
		var raw struct {
			RoleName string `json:"role_name"`
		}
		if err := json.Unmarshal(body, &raw); err != nil || raw.RoleName != tc.wantRole {
			t.Errorf("%s on %s: role_name %q (%v), want %q", tc.user, tc.repo, raw.RoleName, err, tc.wantRole)
		}
	}
}

func TestDeployments(t *testing.T) {
	ctx := context.Background()
	s, gh := newClient(t)
	s.SetBranch("acme", "app", "main", strings.Repeat("d", 40))
	deploy := func(env string) *github.Deployment {
		t.Helper()
		d, _, err := gh.Repositories.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{
			Ref: github.String("main"), Environment: github.String(env), Payload: map[string]any{"app": "web"},
			RequiredContexts: &[]string{}, AutoMerge: github.Bool(false),
		})
		if err != nil {
			t.Fatalf("CreateDeployment(%s): %v", env, err)
		}
		if _, _, err := gh.Repositories.CreateDeploymentStatus(ctx, "acme", "app", d.GetID(), &github.DeploymentStatusRequest{
			State: github.String("success"), EnvironmentURL: github.String("https://" + env + ".example"),
		}); err != nil {
			t.Fatalf("CreateDeploymentStatus: %v", err)
		}
		return d
	}
	first := deploy("staging")
	if first.GetSHA() != strings.Repeat("d", 40) || first.GetCreator().GetLogin() != "ferry[bot]" || string(first.Payload) != `{"app":"web"}` {
		t.Errorf("deployment = sha %s creator %s payload %s", first.GetSHA(), first.GetCreator().GetLogin(), first.Payload)
	}
	deploy("staging")
	deploy("production")

	ds := s.Deployments("acme", "app")
	if len(ds) != 3 {
		t.Fatalf("Deployments = %d, want 3", len(ds))
	}
	var states []string
	for _, st := range ds[0].Statuses {
		states = append(states, st.State)
	}
	if strings.Join(states, ",") != "success,inactive" {
		t.Errorf("first staging deployment statuses = %v, want success then inactive (auto_inactive)", states)
	}
	list, _, err := gh.Repositories.ListDeployments(ctx, "acme", "app", &github.DeploymentsListOptions{Environment: "staging"})
	if err != nil || len(list) != 2 || list[0].GetID() != ds[1].ID {
		t.Errorf("ListDeployments(staging) = %d, %v; want 2, newest first", len(list), err)
	}
	_, resp, _ := gh.Repositories.CreateDeployment(ctx, "acme", "app", &github.DeploymentRequest{Ref: github.String("nope")})
	if resp.StatusCode != 422 {
		t.Errorf("deployment of an unknown ref: status %d, want 422", resp.StatusCode)
	}
	_, resp, _ = gh.Repositories.CreateDeploymentStatus(ctx, "acme", "app", first.GetID(), &github.DeploymentStatusRequest{
		State: github.String("failure"), Description: github.String(strings.Repeat("x", 141)),
	})
	if resp.StatusCode != 422 {
		t.Errorf("141-character status description: status %d, want 422", resp.StatusCode)
	}
}

func TestGetRefAndRepoInstallation(t *testing.T) {
	s, gh := newClient(t)
	s.SetBranch("acme", "app", "feature/x", strings.Repeat("e", 40))
	ref, _, err := gh.Git.GetRef(context.Background(), "acme", "app", "refs/heads/feature/x")
	if err != nil || ref.GetObject().GetSHA() != strings.Repeat("e", 40) || ref.GetRef() != "refs/heads/feature/x" {
		t.Errorf("GetRef = %v, %v", ref, err)
	}
	if _, resp, _ := gh.Git.GetRef(context.Background(), "acme", "app", "refs/heads/missing"); resp.StatusCode != 404 {
		t.Errorf("GetRef(missing) status = %d, want 404", resp.StatusCode)
	}
	// apps/get-repo-installation needs the App JWT, not an installation token.
	if _, resp, _ := gh.Apps.FindRepositoryInstallation(context.Background(), "acme", "app"); resp.StatusCode != 401 {
		t.Errorf("repo installation with an installation token: status %d, want 401", resp.StatusCode)
	}
}

func TestResponsesDecodeAsGitHubSchemas(t *testing.T) {
	// The raw JSON must carry the fields GitHub's schemas mark required,
	// not just what go-github happens to read.
	s, gh := newClient(t)
	pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{})
	c, _, err := gh.Issues.CreateComment(context.Background(), "acme", "app", pr.Number, &github.IssueComment{Body: github.String("x")})
	if err != nil {
		t.Fatal(err)
	}
	_, body := rawCall(t, s, "GET", fmt.Sprintf("/repos/acme/app/issues/comments/%d", c.GetID()), "")
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "node_id", "url", "html_url", "issue_url", "user", "created_at", "updated_at", "author_association", "body"} {
		if _, ok := m[k]; !ok {
			t.Errorf("comment JSON lacks %q: %s", k, body)
		}
	}
}

func TestHandleServesUnmodelledOperations(t *testing.T) {
	tb := &recordingTB{TB: t}
	s := githubtest.New(tb, githubtest.WithToken(testToken, githubtest.DefaultInstallationID))
	s.Handle("repos/get-content", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"type":"file","encoding":"base64","content":"aGk=","path":%q}`, strings.TrimPrefix(r.URL.Path, "/repos/acme/app/contents/"))
	})
	s.FailNext("repos/get-content", http.StatusBadGateway, 1, nil)

	gh := clientFor(t, s, testToken)
	if _, _, resp, err := gh.Repositories.GetContents(context.Background(), "acme", "app", "ferry.yaml", nil); err == nil || resp.StatusCode != 502 {
		t.Errorf("first call: %v, want the injected 502", err)
	}
	file, _, _, err := gh.Repositories.GetContents(context.Background(), "acme", "app", "envs/prod/ferry.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if content, _ := file.GetContent(); content != "hi" || file.GetPath() != "envs/prod/ferry.yaml" {
		t.Errorf("content %q path %q", content, file.GetPath())
	}
	tb.runCleanups()
	if len(tb.errors) > 0 {
		t.Errorf("a handled operation failed the test: %v", tb.errors)
	}
}
