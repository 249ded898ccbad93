// Package testrepo is test support: it builds the GitOps repository ferry's
// tests run against (testdata/gitops, through hack/testrepo.sh), generates
// large synthetic repositories for benchmarks, and lays small repositories
// out from a map of file name to content (Write, Files, Tree).
package testrepo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The branches of the built repository.
const (
	// Main holds testdata/gitops/base.
	Main = "main"

	ImageBumpProduction = "image-bump-production"
	BaseChange          = "base-change"
	AddRemoveResource   = "add-remove-resource"
	SecretChange        = "secret-change"
	BrokenKustomization = "broken-kustomization"
	HelmValues          = "helm-values"
)

// RepoURL is the repository the test data stands for (the seed article's).
const RepoURL = "https://github.com/skillzmist/infrastructure"

// modulePath identifies ferry's go.mod when looking for the module root.
const modulePath = "github.com/ferry-gitops/ferry"

// Scenarios lists the scenario names, sorted.
func Scenarios() []string {
	return []string{AddRemoveResource, BaseChange, BrokenKustomization, HelmValues, ImageBumpProduction, SecretChange}
}

// Branch is the branch holding a scenario.
func Branch(scenario string) string { return "scenario/" + scenario }

// ModuleRoot finds the root of the ferry module from the working directory,
// which `go test` sets to the package being tested.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod for " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

// GitOpsDir returns the absolute path of testdata/gitops.
func GitOpsDir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "testdata", "gitops"), nil
}

// BaseDir returns the absolute path of testdata/gitops/base, the content of
// Main, for tests that read it as a directory.
func BaseDir(t testing.TB) string {
	t.Helper()
	dir, err := GitOpsDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "base")
}

// BuildDir runs hack/testrepo.sh to create the repository at dir, which
// must not exist or be empty.
func BuildDir(dir string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("bash", filepath.Join(root, "hack", "testrepo.sh"), dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("hack/testrepo.sh %s: %w: %s", dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Build creates the repository in a temporary directory removed when the
// test ends, and returns its path (a work tree with Main checked out; pass
// it to repofs.OpenGit with Main or Branch(name)).
func Build(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "infrastructure")
	if err := BuildDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
