// Package maintest checks clustertest.Main: one cluster started from
// TestMain and shared by the package's tests. It holds only tests.
package maintest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/clustertest"
)

// cfg is the shared cluster's admin config, set by clustertest.Main.
var cfg *rest.Config

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m, &cfg)) }

// TestKubectl checks the kubectl built with the cluster talks to it, for
// benchmarks against `kubectl apply --server-side`.
func TestKubectl(t *testing.T) {
	kubectl := clustertest.Kubectl(t)
	kubeconfig := clustertest.Kubeconfig(t, cfg)
	run := func(stdin string, args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}

	var v struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(run("", "version", "-o", "json"), &v); err != nil {
		t.Fatalf("kubectl version: %v", err)
	}
	if v.ClientVersion.GitVersion != "v1.37.2" || v.ServerVersion.GitVersion != "v1.37.2" {
		t.Errorf("kubectl version: client %q server %q, want v1.37.2 for both", v.ClientVersion.GitVersion, v.ServerVersion.GitVersion)
	}

	const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: from-kubectl
  namespace: default
data:
  k: v
`
	run(manifest, "apply", "--server-side", "--field-manager", "kubectl-bench", "-f", "-")
	cm, err := clientset(t).CoreV1().ConfigMaps("default").Get(t.Context(), "from-kubectl", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the configmap kubectl applied: %v", err)
	}
	if cm.Data["k"] != "v" {
		t.Errorf("configmap data %v, want k=v", cm.Data)
	}
	var managers []string
	for _, e := range cm.ManagedFields {
		managers = append(managers, e.Manager+"/"+string(e.Operation))
	}
	if !strings.Contains(strings.Join(managers, " "), "kubectl-bench/Apply") {
		t.Errorf("managedFields managers %v, want kubectl-bench/Apply", managers)
	}
}

// TestMainSetsConfig checks Main handed the tests a config for a running
// cluster, ready (kube-system exists) before the first test.
func TestMainSetsConfig(t *testing.T) {
	if cfg == nil {
		t.Fatal("clustertest.Main did not set the config")
	}
	ns, err := clientset(t).CoreV1().Namespaces().Get(t.Context(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get kube-system: %v", err)
	}
	if ns.Status.Phase != "Active" {
		t.Errorf("kube-system phase %q, want Active", ns.Status.Phase)
	}
}

func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}
