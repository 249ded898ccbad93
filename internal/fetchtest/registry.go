package fetchtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the "inmemory" storage driver
	"github.com/sirupsen/logrus"
	"helm.sh/helm/v3/pkg/registry"
)

// RegistryPath is the repository path a Registry's charts are under:
// Push(name, …) pushes to HOST/RegistryPath/name.
const RegistryPath = "charts"

// pushHeader marks the requests of Push, which the recorder leaves out.
const pushHeader = "X-Fetchtest-Push"

// Registry is an OCI registry in memory, over plain HTTP on loopback:
// fetch it with insecureOCIForceHttp.
type Registry struct {
	t      testing.TB
	server *httptest.Server
	rec    recorder
	auth   basicAuth
}

// NewRegistry starts an empty registry, stopped when the test ends. The
// registry logs through logrus's standard logger; NewRegistry lowers it
// to fatal errors, for the whole test binary.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	logrus.SetLevel(logrus.FatalLevel)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory":    configuration.Parameters{},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
	}
	cfg.HTTP.Secret = "fetchtest"
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	r := &Registry{t: t}
	r.server = httptest.NewServer(r.handler(app))
	t.Cleanup(func() {
		r.server.Close()
		_ = app.Shutdown()
		cancel()
	})
	return r
}

func (r *Registry) handler(app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		user, pass, has := req.BasicAuth()
		if req.Header.Get(pushHeader) == "" {
			r.rec.add(req.Method, req.URL.Path, user)
		}
		if !r.auth.ok(user, pass, has) {
			w.Header().Set("WWW-Authenticate", `Basic realm="fetchtest"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		app.ServeHTTP(w, req)
	})
}

// Host is the registry's host:port.
func (r *Registry) Host() string { return strings.TrimPrefix(r.server.URL, "http://") }

// URL is the repository Push pushes charts under, as an Application's
// repoURL names it: oci://HOST/RegistryPath.
func (r *Registry) URL() string { return "oci://" + r.Host() + "/" + RegistryPath }

// RequireBasicAuth makes the registry answer 401 (a Basic challenge) to
// a request without these credentials; "" requires none.
func (r *Registry) RequireBasicAuth(user, pass string) { r.auth.set(user, pass) }

// Push packages a chart (see Package) and pushes it with Helm's registry
// client to HOST/RegistryPath/name:version; it returns the chart layer's
// digest ("sha256:…"). Its requests are not recorded.
func (r *Registry) Push(name, version string, files map[string]string) string {
	r.t.Helper()
	archive := Package(r.t, name, version, files)
	opts := []registry.ClientOption{
		registry.ClientOptPlainHTTP(),
		registry.ClientOptHTTPClient(&http.Client{Transport: markPush{http.DefaultTransport}}),
		registry.ClientOptCredentialsFile(r.t.TempDir() + "/config.json"),
	}
	r.auth.mu.Lock()
	if r.auth.user != "" {
		opts = append(opts, registry.ClientOptBasicAuth(r.auth.user, r.auth.pass))
	}
	r.auth.mu.Unlock()
	client, err := registry.NewClient(opts...)
	if err != nil {
		r.t.Fatalf("fetchtest: registry client: %v", err)
	}
	ref := r.Host() + "/" + RegistryPath + "/" + name + ":" + version
	res, err := client.Push(archive, ref)
	if err != nil {
		r.t.Fatalf("fetchtest: push %s: %v", ref, err)
	}
	return res.Chart.Digest
}

// Requests is the path of every request the registry got (but Push's),
// in order.
func (r *Registry) Requests() []string { return r.rec.paths() }

// Log is every request the registry got (but Push's), in order.
func (r *Registry) Log() []Request { return r.rec.all() }

// Reset forgets the requests recorded so far.
func (r *Registry) Reset() { r.rec.reset() }

// markPush marks Push's requests.
type markPush struct{ base http.RoundTripper }

func (m markPush) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(pushHeader, "1")
	return m.base.RoundTrip(req)
}
