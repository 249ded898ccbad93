package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// index is what ferry keeps of a Helm repository's index.yaml: for each
// chart, its versions, where to download them and their digests.
type index map[string][]indexEntry

type indexEntry struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest,omitempty"`
}

// httpChart fetches a chart from a Helm repository served over HTTP(S).
func (f *Fetcher) httpChart(ctx context.Context, ref ChartRef) (*Chart, error) {
	repoURL := strings.TrimSpace(ref.RepoURL)
	if _, err := f.cfg.Repositories.Match(repoURL); err != nil {
		return nil, err
	}
	if isExact(ref.Version) {
		if ch, ok := f.cachedChart(ref, ref.Version); ok {
			return ch, nil
		}
	}
	e, err := f.indexEntry(ctx, repoURL, ref)
	if err != nil {
		return nil, err
	}
	if ch, ok := f.cachedChart(ref, e.Version); ok && (e.Digest == "" || sameDigest(ch.Digest, e.Digest)) {
		return ch, nil
	}
	ch, source, err := f.download(ctx, ref, e)
	if err != nil {
		return nil, err
	}
	f.storeChart(ch, ref.Version, source)
	return ch, nil
}

// indexEntry resolves ref against the repository's index: the cached one
// while fresh, and a new one when the cached one lacks what ref asks for
// (it may have been published since).
func (f *Fetcher) indexEntry(ctx context.Context, repoURL string, ref ChartRef) (indexEntry, error) {
	idx, fetched, err := f.index(ctx, repoURL, false)
	if err != nil {
		return indexEntry{}, err
	}
	e, err := lookup(idx, repoURL, ref)
	if err != nil && !fetched {
		if idx, _, err = f.index(ctx, repoURL, true); err != nil {
			return indexEntry{}, err
		}
		e, err = lookup(idx, repoURL, ref)
	}
	return e, err
}

// lookup finds the entry of the version ref asks for.
func lookup(idx index, repoURL string, ref ChartRef) (indexEntry, error) {
	entries := idx[ref.Chart]
	if len(entries) == 0 {
		return indexEntry{}, fmt.Errorf("repository %s has no chart %s", repoURL, ref.Chart)
	}
	versions := make([]string, len(entries))
	for i, e := range entries {
		versions[i] = e.Version
	}
	v, err := resolve(ref.Version, versions)
	if err != nil {
		return indexEntry{}, fmt.Errorf("chart %s in %s: %w", ref.Chart, repoURL, err)
	}
	for _, e := range entries {
		if e.Version == v {
			return e, nil
		}
	}
	return indexEntry{}, fmt.Errorf("chart %s: version %s is not in the index", ref.Chart, v)
}

// index returns the repository's index, from the cache while it is
// fresher than IndexTTL unless refresh; fetched says it was downloaded.
func (f *Fetcher) index(ctx context.Context, repoURL string, refresh bool) (index, bool, error) {
	key := "index\x00" + Normalize(repoURL)
	var idx index
	if !refresh && f.cache.getJSON(key, &idx, IndexTTL) {
		return idx, false, nil
	}
	u, err := repo.ResolveReferenceURL(repoURL, "index.yaml")
	if err != nil {
		return nil, false, fmt.Errorf("repository %s: %w", repoURL, err)
	}
	b, err := f.get(ctx, u)
	if err != nil {
		return nil, false, fmt.Errorf("repository index: %w", err)
	}
	if idx, err = parseIndex(b); err != nil {
		return nil, false, fmt.Errorf("repository index %s: %w", u, err)
	}
	_ = f.cache.putJSON(key, idx, true) // best effort, like every cache write
	return idx, true, nil
}

// parseIndex reads an index.yaml, keeping of each entry what a fetch
// needs and skipping entries without a version or a URL, as Helm skips
// invalid ones (without its log lines).
func parseIndex(b []byte) (index, error) {
	var file repo.IndexFile
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if file.APIVersion == "" {
		return nil, errors.New("not a Helm repository index: it has no apiVersion")
	}
	idx := index{}
	for name, versions := range file.Entries {
		for _, cv := range versions {
			if cv == nil || cv.Metadata == nil || cv.Version == "" || len(cv.URLs) == 0 {
				continue
			}
			idx[name] = append(idx[name], indexEntry{Version: cv.Version, URLs: cv.URLs, Digest: cv.Digest})
		}
	}
	return idx, nil
}

// download fetches the archive an index entry names, and checks it against
// the entry's digest; source is the URL it came from. A relative URL is
// under the repository; an absolute one must be allowed itself.
func (f *Fetcher) download(ctx context.Context, ref ChartRef, e indexEntry) (ch *Chart, source string, err error) {
	what := fmt.Sprintf("chart %s %s", ref.Chart, e.Version)
	u, err := repo.ResolveReferenceURL(strings.TrimSpace(ref.RepoURL), e.URLs[0])
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	if hasUserinfo(u) {
		return nil, "", fmt.Errorf("%s: the index gives a URL with credentials in it; ferry does not use those", what)
	}
	b, err := f.get(ctx, u)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	d := digestOf(b)
	if e.Digest != "" && !sameDigest(d, e.Digest) {
		return nil, "", fmt.Errorf("%s: the archive's digest %s is not the one the index gives (%s): refusing it", what, d, e.Digest)
	}
	if k := f.keyring(ref.RepoURL); k != "" {
		if err := f.verifyProvenance(ctx, k, u, b); err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
	}
	return &Chart{Ref: ref, Version: e.Version, Digest: d, Archive: b}, u, nil
}

// get downloads an allowed URL, with the credentials of the entry that
// allows it, within MaxBytes. Redirects must be allowed too.
func (f *Fetcher) get(ctx context.Context, u string) ([]byte, error) {
	r, err := f.cfg.Repositories.Match(u)
	if err != nil {
		return nil, err
	}
	user, pass, err := r.Credentials()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	client := &http.Client{Transport: f.transport, CheckRedirect: f.checkRedirect}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err // a *url.Error: it names the method and URL
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return readLimited(resp.Body, resp.ContentLength, f.cfg.MaxBytes, "GET "+u)
}

// checkRedirect follows a redirect only to an allowed URL. Go's client
// drops the Authorization header when one leaves the host.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	const most = 10
	if len(via) >= most {
		return fmt.Errorf("stopped after %d redirects", most)
	}
	if _, err := f.cfg.Repositories.Match(req.URL.Redacted()); err != nil {
		return fmt.Errorf("redirected: %w", err)
	}
	return nil
}

// sameDigest compares digests with or without their "sha256:" prefix, as
// index.yaml gives them bare.
func sameDigest(a, b string) bool {
	norm := func(d string) string { return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "sha256:")) }
	return norm(a) == norm(b)
}
