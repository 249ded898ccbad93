package server

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestSyncRendersWithTheClustersCapabilities: a merged chart whose
// templates read .Capabilities is rendered with the destination cluster's
// version and API versions (the test API server's, not ferry's default),
// as Argo CD renders it.
func TestSyncRendersWithTheClustersCapabilities(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	tmpl := `apiVersion: v1
kind: ConfigMap
metadata:
  name: capabilities
  namespace: {{ .Release.Namespace }}
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  apiService: {{ .Capabilities.APIVersions.Has "apiregistration.k8s.io/v1/APIService" | quote }}
`
	head := h.git.Commit(t, repoName, "main", map[string]string{"charts/payment-service/templates/capabilities.yaml": tmpl}, "show capabilities")
	h.push(strings.Repeat("0", 40), head, "push-caps")
	h.waitFor("the sync", func() bool {
		states := h.deploymentStates("payment-service")
		if last(states) == "failure" {
			t.Fatalf("the sync failed: %+v", h.gh.Deployments(owner, repoName))
		}
		return len(states) >= 2 && last(states) == "success"
	})
	cms := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	cm, err := h.dyn.Resource(cms).Namespace("production").Get(context.Background(), "capabilities", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := cm.Object["data"].(map[string]any)
	if v := data["kubeVersion"]; v != "v1.37.2" {
		t.Errorf("kubeVersion %v, want the test cluster's v1.37.2", v)
	}
	if v := data["apiService"]; v != "true" {
		t.Errorf("APIVersions.Has apiregistration.k8s.io/v1/APIService = %v, want true (the cluster serves it)", v)
	}
}
