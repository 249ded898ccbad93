package kustomization

import (
	"strings"
	"testing"
)

// TestParseRepoURL holds cases of kustomize's own repospec tests
// (api/internal/git), which ParseRepoURL follows.
func TestParseRepoURL(t *testing.T) {
	tests := []struct {
		in, repo, dir, ref string
	}{
		{"https://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo/somedir?ref=testbranch", "https://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo", "somedir", "testbranch"},
		{"https://fabrikops2.visualstudio.com/someorg/somerepo?ref=master", "https://fabrikops2.visualstudio.com/someorg/somerepo", "", "master"},
		{"http://github.com/someorg/somerepo/somedir", "https://github.com/someorg/somerepo", "somedir", ""},
		{"git@github.com:someorg/somerepo/somedir", "git@github.com:someorg/somerepo", "somedir", ""},
		{"http://github.com/someorg/somerepo.git/somedir", "https://github.com/someorg/somerepo.git", "somedir", ""},
		{"git@gitlab2.sqtools.ru:infra/kubernetes/thanos-base.git?ref=v0.1.0", "git@gitlab2.sqtools.ru:infra/kubernetes/thanos-base.git", "", "v0.1.0"},
		{"git@bitbucket.org:company/project.git//path?ref=branch", "git@bitbucket.org:company/project.git", "path", "branch"},
		{"ssh://git@bitbucket.org/company/project.git//path?ref=branch", "ssh://git@bitbucket.org/company/project.git", "path", "branch"},
		{"https://itfs.mycompany.com/collection/project/_git/somerepos/somedir?version=v1.0.0", "https://itfs.mycompany.com/collection/project/_git/somerepos", "somedir", "v1.0.0"},
		{"git::https://itfs.mycompany.com/collection/project/_git/somerepos", "https://itfs.mycompany.com/collection/project/_git/somerepos", "", ""},
		{"https://bitbucket.example.com/scm/project/repository.git", "https://bitbucket.example.com/scm/project/repository.git", "", ""},
		{"git@github.com/someorg/somerepo/somepath", "git@github.com:someorg/somerepo", "somepath", ""},
		{"https://github.com/kubernetes-sigs/kustomize//examples/multibases/dev/?ref=v1.0.6", "https://github.com/kubernetes-sigs/kustomize", "examples/multibases/dev/", "v1.0.6"},
		{"github.com/org/repo//base?ref=v1&version=v2", "https://github.com/org/repo", "base", "v1"},
		{"GitHub.com/org/repo?version=v2", "https://github.com/org/repo", "", "v2"},
		{"file://a/b/c/someRepo.git/somepath?ref=someBranch", "file://a/b/c/someRepo.git", "somepath", "someBranch"},
		{"http://127.0.0.1:8080/acme/bases//base?ref=v1", "http://127.0.0.1:8080/acme/bases", "base", "v1"},
	}
	for _, tt := range tests {
		got, err := ParseRepoURL(tt.in)
		if err != nil {
			t.Errorf("ParseRepoURL(%q): %v", tt.in, err)
			continue
		}
		if want := (RepoURL{Repo: tt.repo, Dir: tt.dir, Ref: tt.ref}); got != want {
			t.Errorf("ParseRepoURL(%q) = %+v, want %+v", tt.in, got, want)
		}
	}
	for _, bad := range []string{"/abs/path", "base", "https://github.com", "https://host/org", "https://host/org/repo//../x", "example.com/org/repo"} {
		if got, err := ParseRepoURL(bad); err == nil {
			t.Errorf("ParseRepoURL(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestParse(t *testing.T) {
	f, err := Parse("r/base/kustomization.yaml", "r/base", []byte("resources:\n- a.yaml\n"))
	if err != nil || f.Path != "r/base/kustomization.yaml" || len(f.Refs) != 1 || f.Line(f.Refs[0]) != 2 {
		t.Fatalf("Parse = %+v, %v", f, err)
	}
	if _, err := Parse("k.yaml", ".", []byte("resources: [")); err == nil || !strings.Contains(err.Error(), "k.yaml") {
		t.Errorf("Parse of bad YAML = %v", err)
	}
}
