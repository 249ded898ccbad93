package syncer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/clustertest"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// benchObjects renders 300 objects, 25 ConfigMaps, Services and Deployments
// in each of four namespaces named prefix-0..3, one YAML file per namespace
// and kind.
func benchObjects(prefix string) map[string]string {
	files := map[string]string{}
	for n := range 4 {
		ns := fmt.Sprintf("%s-%d", prefix, n)
		var cms, svcs, deps []string
		for i := range 25 {
			name := fmt.Sprintf("svc-%02d", i)
			cms = append(cms, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: %s-config, namespace: %s, labels: {app: %s}}
data: {environment: production, log_level: info, index: "%d"}
`, name, ns, name, i))
			// Headless: 400 ClusterIPs would exhaust envtest's /24.
			svcs = append(svcs, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s, labels: {app: %s}}
spec:
  clusterIP: None
  selector: {app: %s}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, name, ns, name, name))
			deps = append(deps, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: %s, labels: {app: %s}}
spec:
  replicas: 3
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers:
      - name: app
        image: registry.example.com/%s:v1.2.3
        ports: [{containerPort: 8080}]
        envFrom: [{configMapRef: {name: %s-config}}]
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
`, name, ns, name, name, name, name, name))
		}
		files[ns+"-configmaps.yaml"] = strings.Join(cms, "---\n")
		files[ns+"-services.yaml"] = strings.Join(svcs, "---\n")
		files[ns+"-deployments.yaml"] = strings.Join(deps, "---\n")
	}
	return files
}

// BenchmarkApply300 applies the same 300 objects with ferry's Syncer and
// with `kubectl apply --server-side --force-conflicts -f DIR` (the kubectl
// built with the test cluster), each into namespaces of its own on the
// same API server, alternating which goes first. Each iteration times a
// create (objects deleted beforehand, untimed) and a re-apply of the
// unchanged objects by each tool, and reports the times and kubectl/ferry.
// For scale it also reports kubectl's fixed cost (applying one object) and
// ferry applying one object at a time (Concurrency 1), which separates the
// worker pool's share of the difference from the rest.
func BenchmarkApply300(b *testing.B) {
	ctx := context.Background()
	s := newSyncer(b, nil)
	kubectl := clustertest.Kubectl(b)
	kubeconfig := clustertest.Kubeconfig(b, cfg)
	cacheDir := b.TempDir()

	var objs []manifest.Object
	for name, doc := range benchObjects("bench-ferry") {
		o, err := manifest.Parse([]byte(doc), name)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o...)
	}
	if len(objs) != 300 {
		b.Fatalf("%d objects, want 300", len(objs))
	}
	writeDir := func(files map[string]string) string {
		dir := b.TempDir()
		for name, doc := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		return dir
	}
	dir := writeDir(benchObjects("bench-kubectl"))
	probeDir := writeDir(map[string]string{"probe.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: bench-kubectl-0}\ndata: {k: v}\n"})

	var ferryNS, kubectlNS []string
	for n := range 4 {
		ferryNS = append(ferryNS, fmt.Sprintf("bench-ferry-%d", n))
		kubectlNS = append(kubectlNS, fmt.Sprintf("bench-kubectl-%d", n))
	}
	for _, ns := range append(ferryNS, kubectlNS...) {
		if _, err := s.ensureNamespace(ctx, Options{App: "bench", Namespace: ns, FieldManager: "bench"}); err != nil {
			b.Fatal(err)
		}
	}

	parallel := DefaultOptions()
	parallel.App = "bench"
	sequential := parallel
	sequential.Concurrency = 1
	var inv Inventory
	runFerry := func(opts Options, want Action) time.Duration {
		began := time.Now()
		cs, next, err := s.Sync(ctx, objs, inv, opts)
		elapsed := time.Since(began)
		if err != nil {
			b.Fatalf("ferry: %v\n%s", err, cs)
		}
		if cs.Count(want) != len(objs) {
			b.Fatalf("ferry: %s, want all %s", cs.Summary(), want)
		}
		inv = next
		return elapsed
	}
	runKubectl := func(dir string, want int) time.Duration {
		cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "--cache-dir", cacheDir,
			"apply", "--server-side", "--force-conflicts", "-f", dir, "-v=3")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		began := time.Now()
		out, err := cmd.Output()
		elapsed := time.Since(began)
		if err != nil {
			b.Fatalf("kubectl: %v\n%s", err, stderr.String())
		}
		if n := bytes.Count(out, []byte("serverside-applied")); n != want {
			b.Fatalf("kubectl applied %d objects, want %d:\n%s", n, want, out)
		}
		// -v=3 makes client-go log every request it held back: the
		// comparison is only fair if kubectl was not throttled client-side.
		if n := strings.Count(stderr.String(), "Waited before sending"); n > 0 {
			b.Errorf("kubectl throttled %d requests client-side", n)
		}
		return elapsed
	}
	deleteAll := func(namespaces []string) {
		for _, ns := range namespaces {
			for _, gvr := range []schema.GroupVersionResource{
				{Version: "v1", Resource: "configmaps"},
				{Version: "v1", Resource: "services"},
				{Group: "apps", Version: "v1", Resource: "deployments"},
			} {
				if err := s.cluster.Dynamic.Resource(gvr).Namespace(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
					b.Fatalf("delete %s in %s: %v", gvr.Resource, ns, err)
				}
			}
		}
	}

	// Warm both up (ferry's discovery, kubectl's discovery cache) so the
	// loop compares applies, not first contact.
	deleteAll(append(ferryNS, kubectlNS...))
	runKubectl(dir, 300)
	runFerry(parallel, Created)

	var ferryCreate, kubectlCreate, ferryReapply, kubectlReapply, seqCreate, seqReapply, kubectlProbe time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		deleteAll(append(ferryNS, kubectlNS...))
		b.StartTimer()
		if n%2 == 0 {
			kubectlCreate += runKubectl(dir, 300)
			ferryCreate += runFerry(parallel, Created)
			kubectlReapply += runKubectl(dir, 300)
			ferryReapply += runFerry(parallel, Unchanged)
		} else {
			ferryCreate += runFerry(parallel, Created)
			kubectlCreate += runKubectl(dir, 300)
			ferryReapply += runFerry(parallel, Unchanged)
			kubectlReapply += runKubectl(dir, 300)
		}
		kubectlProbe += runKubectl(probeDir, 1)
		b.StopTimer()
		deleteAll(ferryNS)
		b.StartTimer()
		seqCreate += runFerry(sequential, Created)
		seqReapply += runFerry(sequential, Unchanged)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(n) }
	b.ReportMetric(ms(ferryCreate), "ferry-create-ms/op")
	b.ReportMetric(ms(kubectlCreate), "kubectl-create-ms/op")
	b.ReportMetric(float64(kubectlCreate)/float64(ferryCreate), "create-kubectl/ferry")
	b.ReportMetric(ms(ferryReapply), "ferry-reapply-ms/op")
	b.ReportMetric(ms(kubectlReapply), "kubectl-reapply-ms/op")
	b.ReportMetric(float64(kubectlReapply)/float64(ferryReapply), "reapply-kubectl/ferry")
	b.ReportMetric(ms(kubectlProbe), "kubectl-1obj-ms/op")
	b.ReportMetric(ms(seqCreate), "ferry-seq-create-ms/op")
	b.ReportMetric(ms(seqReapply), "ferry-seq-reapply-ms/op")
}
