package fetch

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"helm.sh/helm/v3/pkg/provenance"

	"github.com/ferry-gitops/ferry/internal/fetchtest"
)

// signer is a PGP key made for the test, and a keyring file holding its
// public half.
type signer struct {
	entity  *openpgp.Entity
	keyring string
}

func newSigner(t *testing.T, name string) signer {
	t.Helper()
	e, err := openpgp.NewEntity(name, "ferry test", name+"@ferry.invalid", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ring bytes.Buffer
	if err := e.Serialize(&ring); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".gpg")
	if err := os.WriteFile(path, ring.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return signer{entity: e, keyring: path}
}

// sign is the provenance file `helm package --sign` writes for archive,
// named file.
func (s signer) sign(t *testing.T, file string, archive []byte) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(p, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	prov, err := (&provenance.Signatory{Entity: s.entity}).ClearSign(p)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(prov)
}

func serveProv(repo *fetchtest.ChartRepo, file string, prov []byte) {
	repo.Handle(fetchtest.RepoPath+"/charts/"+file+".prov", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(prov) }))
}

func TestProvenance(t *testing.T) {
	trusted, stranger := newSigner(t, "trusted"), newSigner(t, "stranger")
	tests := []struct {
		name    string
		prov    func(repo *fetchtest.ChartRepo) []byte // nil: none served
		keyring string
		want    string // "" passes
	}{
		{"signed by a trusted key", func(r *fetchtest.ChartRepo) []byte {
			return trusted.sign(t, "app-1.0.0.tgz", r.Archive("app", "1.0.0"))
		}, trusted.keyring, ""},
		{"no provenance file", nil, trusted.keyring, "app-1.0.0.tgz.prov can't be read"},
		{"signed by an unknown key", func(r *fetchtest.ChartRepo) []byte {
			return stranger.sign(t, "app-1.0.0.tgz", r.Archive("app", "1.0.0"))
		},
			trusted.keyring, "does not verify with keyringFile"},
		{"signed for another archive", func(r *fetchtest.ChartRepo) []byte {
			return trusted.sign(t, "app-1.0.0.tgz", r.Archive("app", "2.0.0"))
		},
			trusted.keyring, "sha256 sum does not match"},
		{"no keyring: no provenance asked", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := fetchtest.NewChartRepo(t)
			repo.AddChart("app", "1.0.0", map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"})
			repo.AddChart("app", "2.0.0", map[string]string{"templates/cm.yaml": "kind: Secret\n"})
			if tt.prov != nil {
				serveProv(repo, "app-1.0.0.tgz", tt.prov(repo))
			}
			f := newFetcherConfig(t, Config{CacheDir: t.TempDir(), Repositories: Allowlist{{URL: repo.URL(), KeyringFile: tt.keyring}}})
			ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}
			_, err := f.Chart(context.Background(), ref)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "chart app 1.0.0")):
				t.Fatalf("error %v, want one about chart app 1.0.0 saying %q", err, tt.want)
			}
			provAsked := false
			for _, p := range repo.Requests() {
				provAsked = provAsked || strings.HasSuffix(p, ".prov")
			}
			if provAsked != (tt.keyring != "") {
				t.Errorf("provenance requested: %v, want %v (requests %v)", provAsked, tt.keyring != "", repo.Requests())
			}
			if tt.want != "" {
				return
			}
			repo.Reset()
			if _, err := f.Chart(context.Background(), ref); err != nil || len(repo.Requests()) != 0 {
				t.Errorf("second fetch: %v, requests %v; want the cached chart", err, repo.Requests())
			}
		})
	}
}

// TestProvenanceCacheNeedsTheKeyring: a chart cached from a repository
// that asked no provenance is fetched and verified again once the entry
// gets a keyringFile.
func TestProvenanceCacheNeedsTheKeyring(t *testing.T) {
	trusted := newSigner(t, "trusted")
	repo := fetchtest.NewChartRepo(t)
	repo.AddChart("app", "1.0.0", map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"})
	cache := t.TempDir()
	ref := ChartRef{RepoURL: repo.URL(), Chart: "app", Version: "1.0.0"}
	plain := newFetcherConfig(t, Config{CacheDir: cache}, repo.URL())
	if _, err := plain.Chart(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	strict := newFetcherConfig(t, Config{CacheDir: cache, Repositories: Allowlist{{URL: repo.URL(), KeyringFile: trusted.keyring}}})
	if _, err := strict.Chart(context.Background(), ref); err == nil || !strings.Contains(err.Error(), ".prov can't be read") {
		t.Fatalf("an unverified cached chart was served to a keyring entry: %v", err)
	}
}

func TestKeyringValidation(t *testing.T) {
	tests := []struct {
		repo Repository
		want string
	}{
		{Repository{URL: "oci://registry.example.com/charts", KeyringFile: "/etc/ring.gpg"}, "keyringFile is supported for Helm repositories over HTTP(S)"},
		{Repository{URL: "https://charts.example.com", KeyringFile: "/nonexistent/ring.gpg"}, "keyringFile: open /nonexistent/ring.gpg"},
	}
	for _, tt := range tests {
		if err := (Allowlist{tt.repo}).Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.repo, err, tt.want)
		}
	}
}
