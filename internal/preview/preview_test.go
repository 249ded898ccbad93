package preview

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const repoURL = "https://github.com/skillzmist/infrastructure"

// TestScenarios checks, for every scenario of the example repository, which
// environments the change touches and how each one ends up.
func TestScenarios(t *testing.T) {
	repo := testrepo.Build(t)
	tests := []struct {
		scenario string
		// want maps environment → status; environments not listed must be unchanged and untouched.
		want      map[string]Status
		resources map[string][]string // env → "change kind/name" of every non-unchanged resource
	}{
		{
			scenario: "image-bump-production",
			want:     map[string]Status{"payment-service-production": Changed},
			resources: map[string][]string{
				"payment-service-production": {"changed Deployment/payment-service"},
			},
		},
		{
			scenario: "base-change",
			want:     map[string]Status{"payment-service-staging": Changed, "payment-service-production": Changed},
		},
		{
			scenario: "add-remove-resource",
			want:     map[string]Status{"payment-service-production": Changed, "payment-service": Changed},
			resources: map[string][]string{
				"payment-service-production": {"added PodDisruptionBudget/payment-service"},
				"payment-service":            {"removed Service/payment-service"},
			},
		},
		{
			scenario:  "secret-change",
			want:      map[string]Status{"payment-service-staging": Changed},
			resources: map[string][]string{"payment-service-staging": {"changed Secret/payment-service-credentials"}},
		},
		{
			scenario: "broken-kustomization",
			want:     map[string]Status{"payment-service-staging": Error},
		},
		{
			scenario: "helm-values",
			want:     map[string]Status{"payment-service": Changed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			ctx := context.Background()
			base, err := repofs.OpenGit(ctx, repo, "main")
			if err != nil {
				t.Fatal(err)
			}
			defer base.Close()
			head, err := repofs.OpenGit(ctx, repo, testrepo.Branch(tt.scenario))
			if err != nil {
				t.Fatal(err)
			}
			defer head.Close()
			res, err := Run(ctx, base, head, Options{RepoURL: repoURL, Render: render.Options{Limits: render.DefaultLimits()}, Diff: diff.Options{Context: 3}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Environments) < 4 {
				t.Fatalf("found %d environments, want the 4 of the example repository", len(res.Environments))
			}
			for _, e := range res.Environments {
				want, listed := tt.want[e.Name]
				switch {
				case e.Name == "platform-monitoring":
					if e.Status != External {
						t.Errorf("%s: status %s, want external", e.Name, e.Status)
					}
				case !listed:
					if e.Status != Unchanged || e.Touched {
						t.Errorf("%s: status %s touched=%v, want unchanged and untouched", e.Name, e.Status, e.Touched)
					}
				default:
					if e.Status != want {
						t.Errorf("%s: status %s (error %q), want %s", e.Name, e.Status, e.Error, want)
					}
					if !e.Touched {
						t.Errorf("%s: not marked touched", e.Name)
					}
				}
				if wantRes, ok := tt.resources[e.Name]; ok {
					var got []string
					for _, r := range e.Resources {
						got = append(got, string(r.Change)+" "+r.Kind+"/"+r.Name)
					}
					sort.Strings(got)
					if strings.Join(got, ",") != strings.Join(wantRes, ",") {
						t.Errorf("%s: resources %v, want %v", e.Name, got, wantRes)
					}
				}
				if e.Status == Error && (e.ErrorFile == "" || e.ErrorLine == 0) {
					t.Errorf("%s: error %q lacks file and line (%q:%d)", e.Name, e.Error, e.ErrorFile, e.ErrorLine)
				}
			}
		})
	}
}

// TestSecretValuesNeverInDiff plants the scenario's secret values and checks
// no resource diff carries them.
func TestSecretValuesNeverInDiff(t *testing.T) {
	repo := testrepo.Build(t)
	ctx := context.Background()
	base, _ := repofs.OpenGit(ctx, repo, "main")
	head, _ := repofs.OpenGit(ctx, repo, testrepo.Branch("secret-change"))
	res, err := Run(ctx, base, head, Options{RepoURL: repoURL, Render: render.Options{Limits: render.DefaultLimits()}})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, tree := range []*repofs.Tree{base, head} {
		data, err := tree.ReadFile("overlays/staging/secret.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
			if ok && (k == "DB_PASSWORD" || k == "API_KEY") {
				v, _, _ = strings.Cut(v, " #")
				secrets = append(secrets, strings.Trim(v, `"`))
			}
		}
	}
	if len(secrets) == 0 {
		t.Fatal("found no secret values in the scenario to check")
	}
	for _, e := range res.Environments {
		for _, r := range e.Resources {
			for _, s := range secrets {
				if strings.Contains(r.Diff, s) {
					t.Errorf("%s %s: diff contains a secret value", e.Name, r.Key)
				}
			}
		}
	}
}
