package clustertest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferry-gitops/ferry/internal/clustertest"
)

const wantServerVersion = "v1.37.2"

// TestSmoke drives a real API server the way ferry will: typed CRUD,
// server-side apply with field ownership, the status subresource.
func TestSmoke(t *testing.T) {
	began := time.Now()
	cfg := clustertest.Start(t)
	t.Logf("start took %s", time.Since(began).Round(time.Millisecond))

	host, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatalf("config host %q: %v", cfg.Host, err)
	}
	if host.Hostname() != "127.0.0.1" {
		t.Errorf("API server listens on %q, want 127.0.0.1", host.Hostname())
	}

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	version, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if version.GitVersion != wantServerVersion {
		t.Errorf("server version %q, want %q", version.GitVersion, wantServerVersion)
	}

	const ns = "ferry-smoke"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns},
		Data:       map[string]string{"LOG_LEVEL": "info"},
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create configmap: %v", err)
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Errorf("second create of the configmap: err = %v, want AlreadyExists", err)
	}
	gotCM, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	if gotCM.Data["LOG_LEVEL"] != "info" || gotCM.UID == "" || gotCM.ResourceVersion == "" {
		t.Errorf("configmap read back as data=%v uid=%q rv=%q", gotCM.Data, gotCM.UID, gotCM.ResourceVersion)
	}

	// Server-side apply, as ferry's field manager.
	dep := appsv1ac.Deployment("web", ns).
		WithLabels(map[string]string{"app": "web"}).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(2).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": "web"}).
				WithSpec(corev1ac.PodSpec().WithContainers(
					corev1ac.Container().WithName("web").WithImage("nginx:1.27")))))
	applied, err := cs.AppsV1().Deployments(ns).Apply(ctx, dep, metav1.ApplyOptions{FieldManager: "ferry-test"})
	if err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	// Defaulting ran: the server filled in what the apply left out.
	if applied.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy %q, want the server's default RollingUpdate", applied.Spec.Strategy.Type)
	}

	got, err := cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	apply := managedEntry(t, got.ManagedFields, "ferry-test", "")
	if apply.Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("ferry-test's operation %q, want Apply", apply.Operation)
	}
	owned := fieldPaths(t, apply)
	for _, want := range []string{"f:spec.f:replicas", "f:spec.f:template.f:spec.f:containers"} {
		if !hasPrefix(owned, want) {
			t.Errorf("ferry-test does not own %s; owns %v", want, owned)
		}
	}
	if hasPrefix(owned, "f:spec.f:strategy") {
		t.Errorf("ferry-test owns the defaulted strategy it never applied")
	}

	// Another manager changing replicas conflicts with ferry-test's ownership.
	other := appsv1ac.Deployment("web", ns).WithSpec(appsv1ac.DeploymentSpec().WithReplicas(5))
	_, err = cs.AppsV1().Deployments(ns).Apply(ctx, other, metav1.ApplyOptions{FieldManager: "someone-else"})
	if !apierrors.IsConflict(err) {
		t.Errorf("conflicting apply by another manager: err = %v, want a Conflict", err)
	}

	// Status through the status subresource.
	got.Status.Replicas = 2
	got.Status.ReadyReplicas = 2
	got.Status.ObservedGeneration = got.Generation
	updated, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, got, metav1.UpdateOptions{FieldManager: "ferry-status"})
	if err != nil {
		t.Fatalf("update status: %v", err)
	}
	if updated.Status.ReadyReplicas != 2 || updated.Generation != got.Generation {
		t.Errorf("after status update: readyReplicas=%d generation=%d (was %d)", updated.Status.ReadyReplicas, updated.Generation, got.Generation)
	}
	status := managedEntry(t, updated.ManagedFields, "ferry-status", "status")
	if !hasPrefix(fieldPaths(t, status), "f:status.f:readyReplicas") {
		t.Errorf("ferry-status does not own status.readyReplicas: %v", fieldPaths(t, status))
	}
	// The main resource ignores status: an update there cannot change it.
	updated.Status.ReadyReplicas = 0
	updated, err = cs.AppsV1().Deployments(ns).Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("update deployment: %v", err)
	}
	if updated.Status.ReadyReplicas != 2 {
		t.Errorf("readyReplicas %d after an update of the main resource, want 2 kept", updated.Status.ReadyReplicas)
	}
}

// TestMissingBinaries checks a test without binaries is told how to build
// them rather than skipped.
func TestMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(clustertest.EnvDir, dir)
	_, err := clustertest.Dir()
	if err == nil {
		t.Fatal("Dir() of an empty directory succeeded")
	}
	for _, want := range []string{clustertest.BuildCommand, "hack/testenv/build.sh " + dir, filepath.Join(dir, "kube-apiserver")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// Two of three present is still missing one.
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte("not executable"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = clustertest.Dir()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "kubectl")+" is not an executable") {
		t.Errorf("Dir() with a non-executable kubectl: err = %v", err)
	}
}

// TestDefaultDir checks the binaries are looked for in the module root's
// .cache/testenv when FERRY_TESTENV_DIR is unset.
func TestDefaultDir(t *testing.T) {
	t.Setenv(clustertest.EnvDir, "")
	_, err := clustertest.Dir()
	if err == nil {
		return // built: nothing more to learn here
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if want := filepath.Join(root, ".cache", "testenv"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the default directory %s", err, want)
	}
}

// managedEntry returns manager's managedFields entry for subresource ("" for
// the main resource), failing the test when there is none.
func managedEntry(t *testing.T, entries []metav1.ManagedFieldsEntry, manager, subresource string) metav1.ManagedFieldsEntry {
	t.Helper()
	for _, e := range entries {
		if e.Manager == manager && e.Subresource == subresource {
			return e
		}
	}
	t.Fatalf("no managedFields entry for manager %q subresource %q in %+v", manager, subresource, entries)
	return metav1.ManagedFieldsEntry{}
}

// fieldPaths flattens a managedFields entry's FieldsV1 set into dotted
// paths like f:spec.f:replicas.
func fieldPaths(t *testing.T, e metav1.ManagedFieldsEntry) []string {
	t.Helper()
	if e.FieldsV1 == nil {
		t.Fatalf("managedFields entry of %q has no fieldsV1", e.Manager)
	}
	var set map[string]any
	if err := json.Unmarshal(e.FieldsV1.Raw, &set); err != nil {
		t.Fatalf("fieldsV1 of %q: %v", e.Manager, err)
	}
	var paths []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			paths = append(paths, p)
			if child, ok := v.(map[string]any); ok {
				walk(p, child)
			}
		}
	}
	walk("", set)
	return paths
}

func hasPrefix(paths []string, prefix string) bool {
	for _, p := range paths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
