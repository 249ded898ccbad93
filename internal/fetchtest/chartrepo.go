package fetchtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"
	"sigs.k8s.io/yaml"
)

// RepoPath is where a ChartRepo's repository is on its server: its
// index is at RepoPath/index.yaml, its charts under RepoPath/charts/.
const RepoPath = "/stable"

// ChartRepo is a Helm chart repository over HTTP on loopback.
type ChartRepo struct {
	t      testing.TB
	server *httptest.Server
	rec    recorder
	auth   basicAuth

	mu     sync.Mutex
	charts []*repoChart
	extra  map[string]http.Handler
}

type repoChart struct {
	meta    *chart.Metadata
	archive []byte
	file    string // served at RepoPath/charts/file
	url     string // as the index gives it
	digest  string // as the index gives it
}

// NewChartRepo starts an empty repository, stopped when the test ends.
func NewChartRepo(t testing.TB) *ChartRepo {
	t.Helper()
	r := &ChartRepo{t: t, extra: map[string]http.Handler{}}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	return r
}

// URL is the repository's URL, as an Application's repoURL names it.
func (r *ChartRepo) URL() string { return r.server.URL + RepoPath }

// ServerURL is the server's root URL, outside the repository.
func (r *ChartRepo) ServerURL() string { return r.server.URL }

// AddChart packages a chart (see Package) and lists it in the index with
// a URL relative to the repository and its digest, which it returns
// ("sha256:…").
func (r *ChartRepo) AddChart(name, version string, files map[string]string) string {
	r.t.Helper()
	archive := Package(r.t, name, version, files)
	file := name + "-" + version + ".tgz"
	c := &repoChart{
		meta:    &chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version},
		archive: archive,
		file:    file,
		url:     "charts/" + file,
		digest:  strings.TrimPrefix(Digest(archive), "sha256:"),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.charts = append(r.charts, c)
	return Digest(archive)
}

// Archive is the archive AddChart made of a chart version.
func (r *ChartRepo) Archive(name, version string) []byte {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.find(name, version).archive
}

// SetChartURL changes the URL the index gives a chart version: relative
// (to the repository) or absolute. Its archive stays served at
// RepoPath/charts/NAME-VERSION.tgz.
func (r *ChartRepo) SetChartURL(name, version, url string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.find(name, version).url = url
}

// SetDigest changes the digest the index gives a chart version ("" for
// none), as a tampered-with repository would.
func (r *ChartRepo) SetDigest(name, version, digest string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.find(name, version).digest = digest
}

func (r *ChartRepo) find(name, version string) *repoChart {
	for _, c := range r.charts {
		if c.meta.Name == name && c.meta.Version == version {
			return c
		}
	}
	r.t.Fatalf("fetchtest: no chart %s %s in the repository", name, version)
	return nil
}

// Handle serves h at path (of the server, not the repository), before
// the repository's own routes: a redirect, a slow or broken response.
func (r *ChartRepo) Handle(path string, h http.Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extra[path] = h
}

// RequireBasicAuth makes the server answer 401 to a request without these
// credentials; "" requires none.
func (r *ChartRepo) RequireBasicAuth(user, pass string) { r.auth.set(user, pass) }

// Requests is the path of every request the server got, in order.
func (r *ChartRepo) Requests() []string { return r.rec.paths() }

// Log is every request the server got, in order.
func (r *ChartRepo) Log() []Request { return r.rec.all() }

// Reset forgets the requests recorded so far.
func (r *ChartRepo) Reset() { r.rec.reset() }

func (r *ChartRepo) serve(w http.ResponseWriter, req *http.Request) {
	user, pass, has := req.BasicAuth()
	r.rec.add(req.Method, req.URL.Path, user)
	if !r.auth.ok(user, pass, has) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fetchtest"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	h := r.extra[req.URL.Path]
	r.mu.Unlock()
	switch p := req.URL.Path; {
	case h != nil:
		h.ServeHTTP(w, req)
	case p == RepoPath+"/index.yaml":
		r.serveIndex(w)
	case strings.HasPrefix(p, RepoPath+"/charts/"):
		r.serveArchive(w, strings.TrimPrefix(p, RepoPath+"/charts/"))
	default:
		http.NotFound(w, req)
	}
}

func (r *ChartRepo) serveIndex(w http.ResponseWriter) {
	idx := repo.NewIndexFile()
	r.mu.Lock()
	for _, c := range r.charts {
		meta := *c.meta
		if err := idx.MustAdd(&meta, c.file, "", c.digest); err != nil {
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		entries := idx.Entries[meta.Name]
		entries[len(entries)-1].URLs = []string{c.url}
	}
	r.mu.Unlock()
	idx.SortEntries()
	b, err := yaml.Marshal(idx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write(b)
}

func (r *ChartRepo) serveArchive(w http.ResponseWriter, file string) {
	r.mu.Lock()
	var archive []byte
	for _, c := range r.charts {
		if c.file == file {
			archive = c.archive
		}
	}
	r.mu.Unlock()
	if archive == nil {
		http.Error(w, "no such chart", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(archive)
}
