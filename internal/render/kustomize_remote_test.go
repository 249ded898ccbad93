package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/reftools"
	"github.com/ferry-gitops/ferry/internal/repofs"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

const remoteToken = "remote-base-token-123"

const configMapYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n"

// remoteBases is the repository acme/bases: a base that pulls in a sibling
// directory (as kustomize allows inside a clone), a component, and trees
// for the refusals.
func remoteBases() map[string]string {
	return map[string]string{
		"base/kustomization.yaml":        "resources:\n- deploy.yaml\n- ../common\nlabels:\n- pairs:\n    tier: web\n",
		"base/deploy.yaml":               deployYAML,
		"common/kustomization.yaml":      "resources:\n- cm.yaml\n",
		"common/cm.yaml":                 configMapYAML,
		"component/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target: {kind: Deployment}\n  patch: '[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 3}]'\n",
		"escape/kustomization.yaml":      "resources:\n- ../../../secret\n",
		"broken/kustomization.yaml":      "resources:\n- bad.yaml\n",
		"broken/bad.yaml":                "kind: [\n",
		"remotepatch/kustomization.yaml": "resources:\n- ../common\npatches:\n- path: https://example.com/p.yaml\n",
		"badpatch/kustomization.yaml":    "resources:\n- ../common\npatches:\n- path: p.yaml\n",
		"badpatch/p.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: missing\ndata:\n  b: \"2\"\n",
		"file.yaml":                      configMapYAML,
		"kustomization.yaml":             "resources:\n- common\n",
	}
}

type remoteFixture struct {
	srv    *gittest.Server
	host   string // http://127.0.0.1:port
	commit string // main and tag v1
	cache  string
	creds  fetch.Repository
}

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	srv := gittest.NewServer(t)
	srv.SetToken(remoteToken)
	srv.CreateRepo(t, "acme/bases", "")
	commit := srv.Commit(t, "acme/bases", "main", remoteBases(), "bases")
	tag := exec.Command("git", "-C", srv.RepoPath("acme/bases"), "tag", "v1", commit)
	tag.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := tag.CombinedOutput(); err != nil {
		t.Fatalf("tag: %v: %s", err, out)
	}
	dir := t.TempDir()
	user, pass := filepath.Join(dir, "user"), filepath.Join(dir, "pass")
	for p, v := range map[string]string{user: gittest.User, pass: remoteToken} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	host := strings.TrimSuffix(srv.URL(), "/")
	return &remoteFixture{srv: srv, host: host, commit: commit, cache: t.TempDir(),
		creds: fetch.Repository{URL: host + "/acme", UsernameFile: user, PasswordFile: pass}}
}

// options are render options whose Remote allows repos (acme/ when nil).
func (fx *remoteFixture) options(t *testing.T, repos fetch.Allowlist) Options {
	t.Helper()
	if repos == nil {
		repos = fetch.Allowlist{fx.creds}
	}
	f, err := fetch.New(fetch.Config{Repositories: repos, CacheDir: fx.cache})
	if err != nil {
		t.Fatal(err)
	}
	return Options{Remote: f}
}

func (fx *remoteFixture) url(dir, query string) string {
	return fx.host + "/acme/bases//" + dir + query
}

var appEnv = environment.Environment{Name: "prod", Path: "app", Type: environment.Kustomize, File: "apps/prod.yaml"}

// overlay is the repository under review: app/ uses remote bases, and
// secret/ is what an escape from a remote tree would reach.
func overlay(kustomization string) map[string]string {
	return map[string]string{
		"app/kustomization.yaml":    kustomization,
		"secret/kustomization.yaml": "resources:\n- secret.yaml\n",
		"secret/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\n",
	}
}

// TestRemoteBase renders overlays of remote bases named every way
// kustomize names them, and requires what `kustomize build` (the reference
// CLI, cloning from the same server) makes of them.
func TestRemoteBase(t *testing.T) {
	kustomize := reftools.Path(t, "kustomize")
	fx := newRemoteFixture(t)
	opts := fx.options(t, nil)
	tests := []struct{ name, kustomization string }{
		{"tag", "resources:\n- " + fx.url("base", "?ref=v1") + "\nnamePrefix: prod-\n"},
		{"branch", "resources:\n- " + fx.url("base", "?ref=main") + "\nnamePrefix: prod-\n"},
		{"commit", "resources:\n- " + fx.url("base", "?ref="+fx.commit) + "\nnamePrefix: prod-\n"},
		{"default branch", "resources:\n- " + fx.url("base", "") + "\n"},
		{"version parameter", "resources:\n- " + fx.url("base", "?version=v1") + "\n"},
		{".git suffix", "resources:\n- " + fx.host + "/acme/bases.git/base?ref=v1\n"},
		{"go-getter prefix", "resources:\n- git::" + fx.url("base", "?ref=v1") + "\n"},
		{"deprecated bases", "bases:\n- " + fx.url("base", "?ref=v1") + "\n"},
		{"component", "resources:\n- " + fx.url("base", "?ref=v1") + "\ncomponents:\n- " + fx.url("component", "?ref=v1") + "\n"},
		{"origin annotations", "resources:\n- " + fx.url("base", "?ref=v1") + "\nbuildMetadata: [originAnnotations]\n"},
		{"repository root", "resources:\n- " + fx.host + "/acme/bases?ref=v1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := overlay(tt.kustomization)
			res, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := fx.reference(t, kustomize, files)
			if got := streamOf(t, res.Objects); got != want {
				t.Errorf("ferry differs from kustomize build\n--- ferry\n%s\n--- kustomize\n%s", got, want)
			}
			if !slices.Equal(res.Files, []string{"app/kustomization.yaml", "apps/prod.yaml"}) {
				t.Errorf("Files = %v, want the overlay only", res.Files)
			}
			for _, o := range res.Objects {
				if o.Source != "app/kustomization.yaml" {
					t.Errorf("%s comes from %q, want the overlay", o.Key, o.Source)
				}
			}
		})
	}
}

// TestRemoteBaseLikeLocal: a remote base renders as the same base checked
// out in the repository.
func TestRemoteBaseLikeLocal(t *testing.T) {
	fx := newRemoteFixture(t)
	remote, err := Render(context.Background(), testrepo.Tree(t, overlay("resources:\n- "+fx.url("base", "?ref=v1")+"\nnamePrefix: p-\n")), appEnv, fx.options(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]string{"app/kustomization.yaml": "resources:\n- ../vendor/base\nnamePrefix: p-\n"}
	for p, c := range remoteBases() {
		local["vendor/"+p] = c
	}
	want := render(t, testrepo.Tree(t, local), appEnv)
	if got, exp := streamOf(t, remote.Objects), streamOf(t, want.Objects); got != exp {
		t.Errorf("remote base differs from the local checkout\n--- remote\n%s\n--- local\n%s", got, exp)
	}
}

// TestRemoteBaseCached: rendering a commit fetched before sends nothing.
func TestRemoteBaseCached(t *testing.T) {
	fx := newRemoteFixture(t)
	files := overlay("resources:\n- " + fx.url("base", "?ref="+fx.commit) + "\n")
	if _, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil)); err != nil {
		t.Fatal(err)
	}
	before := len(fx.srv.Requests())
	// A new Fetcher over the same cache: another worker process.
	if _, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil)); err != nil {
		t.Fatal(err)
	}
	if got := fx.srv.Requests()[before:]; len(got) != 0 {
		t.Errorf("the second render sent %d requests: %+v", len(got), got)
	}
}

// TestRemoteBaseRefused: remote bases that must not render, each refused
// at the overlay's line that names it, with the URL, and nothing fetched
// where nothing may be.
func TestRemoteBaseRefused(t *testing.T) {
	fx := newRemoteFixture(t)
	base := fx.url("base", "?ref=v1")
	sum := sha256.Sum256([]byte(fetch.Normalize(fx.host + "/acme/bases")))
	mounted := remoteDir + "/" + hex.EncodeToString(sum[:6]) + "@" + fx.commit + "/common"
	tests := []struct {
		name    string
		files   map[string]string
		opts    Options
		line    int
		want    []string
		outside bool
		quiet   bool // the server must see no request
		mount   bool // the error is about remoteDir
	}{
		{name: "no remote", files: overlay("resources:\n- " + base + "\n"), line: 2, quiet: true,
			want: []string{base, "ferry does not fetch remote bases", "repositories:"}},
		{name: "not allowed", files: overlay("resources:\n- " + base + "\n"), opts: fx.options(t, fetch.Allowlist{{URL: fx.host + "/other"}}), line: 2, quiet: true,
			want: []string{base, "is not an allowed repository", "repositories:", fx.host + "/acme/bases"}},
		{name: "ssh", files: overlay("resources:\n- svc.yaml\n- git@github.com:acme/bases//base?ref=v1\n"), opts: fx.options(t, nil), line: 3, quiet: true,
			want: []string{"git@github.com:acme/bases", "HTTPS only"}},
		{name: "escape from the remote tree", files: overlay("resources:\n- " + fx.url("escape", "?ref=v1") + "\n"), opts: fx.options(t, nil), line: 2, outside: true,
			want: []string{fx.url("escape", "?ref=v1"), "escape/kustomization.yaml:2", "leaves the remote base's repository"}},
		{name: "into a mount from the repository", files: overlay("resources:\n- " + base + "\n- ../" + mounted + "\n"), opts: fx.options(t, nil), line: 3, outside: true, mount: true,
			want: []string{"where ferry mounts remote bases"}},
		{name: "repository with the reserved directory", files: with(overlay("resources:\n- "+base+"\n"), map[string]string{remoteDir + "/x.yaml": configMapYAML}), opts: fx.options(t, nil), line: 2, quiet: true, mount: true,
			want: []string{"reserves for remote bases"}},
		{name: "a file, not a base", files: overlay("resources:\n- " + fx.host + "/acme/bases//file.yaml?ref=v1\n"), opts: fx.options(t, nil), line: 2,
			want: []string{"file.yaml is a file", "not a kustomization directory"}},
		{name: "missing directory", files: overlay("resources:\n- " + fx.url("nope", "?ref=v1") + "\n"), opts: fx.options(t, nil), line: 2,
			want: []string{"no directory nope"}},
		{name: "missing revision", files: overlay("resources:\n- " + fx.url("base", "?ref=v9") + "\n"), opts: fx.options(t, nil), line: 2,
			want: []string{`"v9"`, "no branch or tag"}},
		{name: "bad YAML in the remote tree", files: overlay("resources:\n- " + fx.url("broken", "?ref=v1") + "\n"), opts: fx.options(t, nil), line: 2,
			want: []string{fx.url("broken", "?ref=v1"), "broken/bad.yaml:1", "invalid YAML"}},
		{name: "remote file in the remote tree", files: overlay("resources:\n- " + fx.url("remotepatch", "?ref=v1") + "\n"), opts: fx.options(t, nil), line: 2,
			want: []string{"https://example.com/p.yaml", "not files", "remotepatch/kustomization.yaml:4"}},
		{name: "kustomize error in the remote tree", files: overlay("resources:\n- " + fx.url("badpatch", "?ref=v1") + "\n"), opts: fx.options(t, nil), line: 2,
			want: []string{fx.url("badpatch", "?ref=v1"), "badpatch/"}},
		{name: "remote generator configuration", files: overlay("resources:\n- svc.yaml\ntransformers:\n- " + base + "\n"), opts: fx.options(t, nil), line: 4, quiet: true,
			want: []string{base}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fx.srv.Requests())
			tt.files["app/svc.yaml"] = serviceYAML
			_, err := Render(context.Background(), testrepo.Tree(t, tt.files), appEnv, tt.opts)
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *Error", err)
			}
			t.Logf("%v", err)
			if re.File != "app/kustomization.yaml" || re.Line != tt.line {
				t.Errorf("error at %s:%d, want app/kustomization.yaml:%d: %v", re.File, re.Line, tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.outside != errors.Is(err, repofs.ErrOutsideRoot) {
				t.Errorf("ErrOutsideRoot = %t, want %t: %v", !tt.outside, tt.outside, err)
			}
			if strings.Contains(err.Error(), "stolen") || (!tt.mount && strings.Contains(err.Error(), remoteDir)) {
				t.Errorf("error shows what it must not: %v", err)
			}
			if n := len(fx.srv.Requests()) - before; tt.quiet && n != 0 {
				t.Errorf("%d requests reached the server", n)
			}
		})
	}
}

// TestRemoteBaseNested: a remote base may itself use a remote base, which
// is fetched and confined the same way.
func TestRemoteBaseNested(t *testing.T) {
	kustomize := reftools.Path(t, "kustomize")
	fx := newRemoteFixture(t)
	fx.srv.CreateRepo(t, "acme/platform", "")
	fx.srv.Commit(t, "acme/platform", "main", map[string]string{
		"web/kustomization.yaml": "resources:\n- " + fx.url("base", "?ref=v1") + "\n- svc.yaml\ncommonLabels:\n  platform: \"yes\"\n",
		"web/svc.yaml":           serviceYAML,
	}, "platform")
	files := overlay("resources:\n- " + fx.host + "/acme/platform//web?ref=main\nnamePrefix: n-\n")
	res, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := streamOf(t, res.Objects), fx.reference(t, kustomize, files); got != want {
		t.Errorf("ferry differs from kustomize build\n--- ferry\n%s\n--- kustomize\n%s", got, want)
	}
	if got := keys(res.Objects); len(got) != 3 {
		t.Errorf("objects %v", got)
	}
}

// TestRemoteBaseCredentials: the configured token is sent, and a wrong one
// shows in no error.
func TestRemoteBaseCredentials(t *testing.T) {
	fx := newRemoteFixture(t)
	files := overlay("resources:\n- " + fx.url("base", "?ref=v1") + "\n")
	if _, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil)); err != nil {
		t.Fatal(err)
	}
	for _, r := range fx.srv.Requests() {
		if r.User != gittest.User {
			t.Errorf("request %s %s without the configured user", r.Method, r.Path)
		}
	}
	if err := os.WriteFile(fx.creds.PasswordFile, []byte("wrong-secret-456"), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.cache = t.TempDir()
	_, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil))
	if err == nil {
		t.Fatal("a wrong token rendered")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(gittest.User + ":wrong-secret-456"))
	if strings.Contains(err.Error(), "wrong-secret-456") || strings.Contains(err.Error(), basic) {
		t.Errorf("error shows the credential: %v", err)
	}
	if !strings.Contains(err.Error(), fx.url("base", "?ref=v1")) {
		t.Errorf("error does not name the base: %v", err)
	}
}

// TestRemoteBaseOrigin: origin annotations, when a kustomization asks for
// them, name the remote repository as kustomize's do, never the mount.
func TestRemoteBaseOrigin(t *testing.T) {
	fx := newRemoteFixture(t)
	files := overlay("resources:\n- " + fx.url("base", "?ref=v1") + "\nbuildMetadata: [originAnnotations]\n")
	res, err := Render(context.Background(), testrepo.Tree(t, files), appEnv, fx.options(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	d := find(t, res.Objects, "Deployment", "web")
	y, _ := manifest.Stream([]manifest.Object{d})
	if !strings.Contains(string(y), "repo: "+fx.host+"/acme/bases") || !strings.Contains(string(y), "path: base/deploy.yaml") ||
		!strings.Contains(string(y), "ref: v1") || strings.Contains(string(y), remoteDir) {
		t.Errorf("origin annotation:\n%s", y)
	}
}

func streamOf(t *testing.T, objs []manifest.Object) string {
	t.Helper()
	b, err := manifest.Stream(objs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// reference runs `kustomize build app` on files, kustomize cloning the
// remote bases itself with the fixture's token.
func (fx *remoteFixture) reference(t *testing.T, kustomize string, files map[string]string) string {
	t.Helper()
	dir := testrepo.Files(t, files)
	cmd := exec.Command(kustomize, "build", filepath.Join(dir, "app"))
	basic := base64.StdEncoding.EncodeToString([]byte(gittest.User + ":" + remoteToken))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic " + basic}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kustomize build: %v: %s", err, stderr.String())
	}
	objs, err := manifest.Parse(out, "reference")
	if err != nil {
		t.Fatal(err)
	}
	manifest.Sort(objs)
	return streamOf(t, objs)
}
