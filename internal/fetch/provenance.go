package fetch

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"helm.sh/helm/v3/pkg/provenance"
)

// keyring is the keyringFile of the entry allowing repoURL ("" when it has
// none, or when repoURL is not allowed: the fetch refuses that itself).
func (f *Fetcher) keyring(repoURL string) string {
	r, err := f.cfg.Repositories.Match(repoURL)
	if err != nil {
		return ""
	}
	return r.KeyringFile
}

// verifyProvenance checks archive, downloaded from u, against the
// provenance file Helm publishes beside it (u + ".prov"): signed by a key
// of keyring, recording archive's sha256. It uses Helm's own verifier, as
// `helm pull --verify --keyring` does.
func (f *Fetcher) verifyProvenance(ctx context.Context, keyring, u string, archive []byte) error {
	prov, err := f.get(ctx, u+".prov")
	if err != nil {
		return fmt.Errorf("the repository requires provenance (keyringFile %s), and %s.prov can't be read: %w", keyring, u, err)
	}
	sig, err := provenance.NewFromKeyring(keyring, "")
	if err != nil {
		return fmt.Errorf("keyringFile %s: %w", keyring, err)
	}
	dir, err := os.MkdirTemp("", "ferry-prov-")
	if err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	name := archiveName(u)
	chartPath := filepath.Join(dir, name)
	if err := os.WriteFile(chartPath, archive, 0o600); err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	if err := os.WriteFile(chartPath+".prov", prov, 0o600); err != nil {
		return fmt.Errorf("provenance: %w", err)
	}
	if _, err := sig.Verify(chartPath, chartPath+".prov"); err != nil {
		return fmt.Errorf("provenance %s.prov does not verify with keyringFile %s: %w", u, keyring, err)
	}
	return nil
}

// archiveName is the file name a provenance file records for the archive
// at u: the last element of its path.
func archiveName(u string) string {
	p := u
	if parsed, err := url.Parse(u); err == nil {
		p = parsed.Path
	}
	name := path.Base(p)
	if name == "." || name == "/" || name == "" {
		return "chart.tgz"
	}
	return name
}
