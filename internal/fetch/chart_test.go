package fetch

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestChartRefRefused(t *testing.T) {
	f := newFetcher(t, "https://charts.example.com", "oci://registry.example.com/charts")
	tests := []struct {
		name string
		ref  ChartRef
		want string
	}{
		{"no name", ChartRef{RepoURL: "https://charts.example.com", Chart: ""}, "needs a name"},
		{"path", ChartRef{RepoURL: "https://charts.example.com", Chart: "a/b"}, "has a path"},
		{"dotdot", ChartRef{RepoURL: "https://charts.example.com", Chart: ".."}, "has a path"},
		{"dotdot inside", ChartRef{RepoURL: "oci://registry.example.com/charts", Chart: "x..y"}, "has a path"},
		{"tag in name", ChartRef{RepoURL: "oci://registry.example.com/charts", Chart: "app:1.0"}, "cannot have"},
		{"no repository", ChartRef{Chart: "app"}, "needs a repository URL"},
		{"credentials", ChartRef{RepoURL: "https://u:hunter2@charts.example.com", Chart: "app"}, "cannot carry credentials"},
		{"oci credentials", ChartRef{RepoURL: "u:hunter2@registry.example.com/charts", Chart: "app"}, "cannot carry credentials"},
		{"scheme", ChartRef{RepoURL: "ftp://charts.example.com", Chart: "app"}, "http://, https:// and oci:// only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Chart(context.Background(), tt.ref)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestChartNotAllowedNamesRepository(t *testing.T) {
	f := newFetcher(t, "https://charts.example.com")
	for _, repo := range []string{"oci://registry.example.com/charts", "registry.example.com/charts", "https://charts.example.com.evil.test"} {
		_, err := f.Chart(context.Background(), ChartRef{RepoURL: repo, Chart: "app", Version: "1.0.0"})
		var na *NotAllowedError
		if !errors.As(err, &na) || na.URL != repo {
			t.Fatalf("%s: error %v, want NotAllowedError for it", repo, err)
		}
	}
}

func TestResolve(t *testing.T) {
	available := []string{"0.9.0", "1.0.0", "v1.1.0", "1.2.0-rc.1", "1.10.0", "2.0.0-alpha", "not-semver"}
	tests := []struct{ want, got, err string }{
		{"1.0.0", "1.0.0", ""},
		{"1.1.0", "v1.1.0", ""},
		{"v1.0.0", "1.0.0", ""},
		{"1.0", "1.0.0", ""},
		{"", "1.10.0", ""},
		{"*", "1.10.0", ""},
		{"^1", "1.10.0", ""},
		{"~1.1", "v1.1.0", ""},
		{"<1", "0.9.0", ""},
		{">=1.2.0-0 <1.3", "1.2.0-rc.1", ""},
		{">=2.0.0-0", "2.0.0-alpha", ""},
		{"2.0.0-alpha", "2.0.0-alpha", ""},
		{"1.2.x", "", "no version matches"},
		{"3.0.0", "", "not found"},
		{"not-semver", "", "neither"},
		{">>1", "", "neither"},
	}
	for _, tt := range tests {
		got, err := resolve(tt.want, available)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("resolve(%q) = %q, %v; want error %q", tt.want, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.got {
			t.Errorf("resolve(%q) = %q, %v; want %q", tt.want, got, err, tt.got)
		}
	}
}

func TestOCIName(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"oci://Registry.Example.com/charts", "registry.example.com/charts/app"},
		{"registry.example.com/charts/", "registry.example.com/charts/app"},
		{"OCI://registry.example.com", "registry.example.com/app"},
		{"localhost:5000/a/b", "localhost:5000/a/b/app"},
	}
	for _, tt := range tests {
		got, err := ociName(ChartRef{RepoURL: tt.repo, Chart: "app"})
		if err != nil || got != tt.want {
			t.Errorf("ociName(%q) = %q, %v; want %q", tt.repo, got, err, tt.want)
		}
	}
}
