package fetchtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Package builds the archive (.tgz) of a chart named name at version with
// files, by path in the chart ("values.yaml", "templates/cm.yaml"). A
// Chart.yaml (apiVersion v2) is written unless files has one.
func Package(t testing.TB, name, version string, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src", name)
	all := map[string]string{"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)}
	for p, c := range files {
		all[p] = c
	}
	for p, c := range all {
		clean := filepath.Clean(filepath.FromSlash(p))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			t.Fatalf("fetchtest: chart file %q is outside the chart", p)
		}
		full := filepath.Join(src, clean)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatalf("fetchtest: %v", err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatalf("fetchtest: %v", err)
		}
	}
	ch, err := loader.LoadDir(src)
	if err != nil {
		t.Fatalf("fetchtest: load chart %s %s: %v", name, version, err)
	}
	out, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatalf("fetchtest: package chart %s %s: %v", name, version, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("fetchtest: %v", err)
	}
	return b
}

// Digest is b's "sha256:…" digest.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Request is one request a test server got.
type Request struct {
	Method string
	Path   string
	// User is the basic-auth user name it carried, "" when none.
	User string
}

// recorder keeps the requests a server got.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *recorder) add(method, path, user string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, Request{Method: method, Path: path, User: user})
}

func (r *recorder) all() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

func (r *recorder) paths() []string {
	var out []string
	for _, q := range r.all() {
		out = append(out, q.Path)
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// basicAuth is the credentials a server requires, none when user is "".
type basicAuth struct {
	mu         sync.Mutex
	user, pass string
}

func (a *basicAuth) set(user, pass string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.user, a.pass = user, pass
}

// ok reports whether req may pass.
func (a *basicAuth) ok(user, pass string, has bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.user == "" || (has && user == a.user && pass == a.pass)
}
