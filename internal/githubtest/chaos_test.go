package githubtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/ferry-gitops/ferry/internal/githubtest"
)

// TestChaosAnswers: what a client sees of each fault, and what the fake
// did behind it.
func TestChaosAnswers(t *testing.T) {
	tests := []struct {
		name         string
		o            githubtest.ChaosOptions
		wantStatus   int
		wantComments int
		wantInjected string
		check        func(t *testing.T, err error)
	}{
		{"502 before the effect", githubtest.ChaosOptions{Fail502: 1}, http.StatusBadGateway, 0, githubtest.Injected502, expectErrorResponse(502)},
		{"502 after the effect", githubtest.ChaosOptions{Fail502: 1, After: 1}, http.StatusBadGateway, 1, githubtest.Injected502After, expectErrorResponse(502)},
		{"secondary limit", githubtest.ChaosOptions{SecondaryEvery: 1}, http.StatusForbidden, 0, githubtest.InjectedLimit, func(t *testing.T, err error) {
			var e *github.AbuseRateLimitError
			if !errors.As(err, &e) || e.RetryAfter == nil || *e.RetryAfter != time.Second {
				t.Errorf("err = %#v, want an AbuseRateLimitError with Retry-After 1s", err)
			}
		}},
		{"no fault", githubtest.ChaosOptions{Seed: 1}, http.StatusCreated, 1, "", func(t *testing.T, err error) {
			if err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, gh := newClient(t)
			pr := s.AddPullRequest("acme", "app", githubtest.PullRequest{})
			s.Chaos(tc.o)
			_, resp, err := gh.Issues.CreateComment(context.Background(), "acme", "app", pr.Number, &github.IssueComment{Body: github.String("x")})
			if resp == nil || resp.StatusCode != tc.wantStatus {
				t.Fatalf("resp=%v err=%v, want status %d", resp, err, tc.wantStatus)
			}
			tc.check(t, err)
			if n := len(s.Comments("acme", "app", pr.Number)); n != tc.wantComments {
				t.Errorf("%d comments stored, want %d", n, tc.wantComments)
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].Injected != tc.wantInjected || calls[0].Installation != githubtest.DefaultInstallationID {
				t.Errorf("recorded %+v, want one call of installation 1 injected %q", calls, tc.wantInjected)
			}
		})
	}
}

// TestCallsDuringRetryAfter: a call made while a limit's Retry-After
// holds is found; one after it, or within the grace, is not.
func TestCallsDuringRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		sleep time.Duration // after the limited call
		grace time.Duration
		want  int
	}{
		{"straight after", 0, 0, 2},
		{"within the grace", 0, time.Minute, 0},
		{"after the Retry-After", 1100 * time.Millisecond, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, gh := newClient(t)
			s.Chaos(githubtest.ChaosOptions{SecondaryEvery: 1})
			get := func() int {
				_, resp, _ := gh.Issues.Get(context.Background(), "acme", "app", 1)
				return resp.StatusCode
			}
			s.AddIssue("acme", "app", githubtest.Issue{Title: "one"})
			if code := get(); code != http.StatusForbidden {
				t.Fatalf("first call: %d, want the limit", code)
			}
			s.Chaos(githubtest.ChaosOptions{})
			time.Sleep(tc.sleep)
			// go-github itself refuses calls during a Retry-After it saw:
			// a raw call goes through regardless.
			rawCall(t, s, http.MethodGet, "/repos/acme/app/issues/1", "")
			rawCall(t, s, http.MethodGet, "/repos/acme/app/issues/1", "")
			if got := s.CallsDuringRetryAfter(tc.grace); len(got) != tc.want {
				t.Errorf("%d calls during the Retry-After, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
}
