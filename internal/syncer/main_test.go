package syncer

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/clustertest"
	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// cfg is the package's cluster (etcd + kube-apiserver), set by TestMain.
var cfg *rest.Config

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m, &cfg)) }

// recorder records the requests a syncer makes, in the order they are sent.
type recorder struct {
	mu   sync.Mutex
	reqs []string // "METHOD path"
	// fail, when set, answers the requests it picks with a 500 instead of
	// sending them.
	fail func(*http.Request) bool
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (r *recorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		fail := r.fail
		r.mu.Unlock()
		if fail != nil && fail(req) {
			return &http.Response{
				StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error", Request: req,
				Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("injected failure")),
			}, nil
		}
		return rt.RoundTrip(req)
	})
}

// patches returns the paths of the PATCH requests, in order.
func (r *recorder) patches() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		if p, ok := strings.CutPrefix(q, "PATCH "); ok {
			out = append(out, p)
		}
	}
	return out
}

// newSyncer returns a syncer on the test cluster whose requests rec (when
// not nil) records.
func newSyncer(t testing.TB, rec *recorder) *Syncer {
	t.Helper()
	c := rest.CopyConfig(cfg)
	// ferry's own client settings, not envtest's (QPS 1000).
	c.QPS, c.Burst = 0, 0
	if rec != nil {
		c.Wrap(rec.wrap)
	}
	cluster, err := kube.NewCluster(c)
	if err != nil {
		t.Fatal(err)
	}
	s := New(cluster)
	// Status changes in these tests are made by the test, not controllers:
	// no reason to wait seconds between looks.
	s.pollInterval = 50 * time.Millisecond
	return s
}

// testOptions are DefaultOptions for an app and namespace of the test's own.
func testOptions(t testing.TB) Options {
	opts := DefaultOptions()
	name := strings.ToLower(regexp.MustCompile(`[^a-zA-Z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	// A suffix of its own per run: with -count=N the runs share the cluster.
	name = fmt.Sprintf("%s-%04x", strings.Trim(name, "-"), rand.IntN(0x10000))
	opts.App = "app-" + name
	opts.Namespace = "ns-" + name
	opts.CreateNamespace = true
	opts.PollInterval = 50 * time.Millisecond
	opts.HealthTimeout = 30 * time.Second
	return opts
}

// parse reads YAML documents into objects, in the order given.
func parse(t testing.TB, docs ...string) []manifest.Object {
	t.Helper()
	objs, err := manifest.Parse([]byte(strings.Join(docs, "\n---\n")), "test.yaml")
	if err != nil {
		t.Fatalf("test manifests: %v", err)
	}
	return objs
}

func configMap(name string, data map[string]string, annotations ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n", name)
	if len(annotations) > 0 {
		b.WriteString("  annotations:\n")
		for i := 0; i+1 < len(annotations); i += 2 {
			fmt.Fprintf(&b, "    %s: %q\n", annotations[i], annotations[i+1])
		}
	}
	b.WriteString("data:\n")
	if len(data) == 0 {
		b.WriteString("  k: v\n")
	}
	for k, v := range data {
		fmt.Fprintf(&b, "  %s: %q\n", k, v)
	}
	return b.String()
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// get reads an object from the cluster; nil when it does not exist.
func get(t testing.TB, s *Syncer, k manifest.Key) *unstructured.Unstructured {
	t.Helper()
	ri, err := s.resourceFor(k)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := ri.Get(ctxFor(t), k.Name, metav1.GetOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil
		}
		t.Fatalf("get %s: %v", k, err)
	}
	return obj
}

func cmKey(ns, name string) manifest.Key {
	return manifest.Key{Kind: "ConfigMap", Namespace: ns, Name: name}
}

// actions renders a change set as "action key" lines, for comparison.
func actions(cs *ChangeSet) []string {
	out := make([]string, len(cs.Changes))
	for i, c := range cs.Changes {
		out[i] = string(c.Action) + " " + c.Key.String()
	}
	return out
}

// resourceFor is the client for an object known only by its key.
func (s *Syncer) resourceFor(k manifest.Key) (dynamic.ResourceInterface, error) {
	mapping, err := s.cluster.Mapper.RESTMapping(schema.GroupKind{Group: k.Group, Kind: k.Kind})
	if err != nil {
		return nil, fmt.Errorf("map kind of %s: %w", k, err)
	}
	return s.resourceClient(mapping, k.Namespace), nil
}
