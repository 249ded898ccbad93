package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/synchook"
)

// hookWeb is a Deployment of the given image tag.
func hookWeb(tag string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "web:%s"}]}`, tag)
}

// hookJob is a Job hook (a name ending in "-" is a generateName) with the
// given annotations as key, value pairs.
func hookJob(name string, annotations ...string) string {
	return hookDoc(name, annotations...) + `spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: "busybox:1"}]`
}

// jobController acts as Kubernetes' Job controller for one job of the test
// (envtest runs none): when a Job whose name starts with prefix appears in
// ns without a status, it calls seen (while the sync waits on the Job) and
// then marks it Complete, or Failed, with the conditions the API server's
// validation asks for. It returns a channel closed once it has.
func jobController(t *testing.T, s *Syncer, ns, prefix string, fail bool, seen func(job *unstructured.Unstructured)) <-chan struct{} {
	t.Helper()
	ctx := ctxFor(t)
	jobs, err := s.resourceFor(manifest.Key{Group: "batch", Kind: "Job", Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			list, err := jobs.List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range list.Items {
					job := &list.Items[i]
					if !strings.HasPrefix(job.GetName(), prefix) || job.Object["status"] != nil && len(job.Object["status"].(map[string]any)) > 0 {
						continue
					}
					if seen != nil {
						seen(job)
					}
					job.Object["status"] = jobStatus(fail)
					if _, err := jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
						t.Errorf("job controller: update status of %s: %v", job.GetName(), err)
					}
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return done
}

// jobStatus is a finished Job's status, as the Job controller writes it:
// SuccessCriteriaMet before Complete, FailureTarget before Failed.
func jobStatus(fail bool) map[string]any {
	now := time.Now().UTC().Format(time.RFC3339)
	cond := func(typ, reason string) map[string]any {
		return map[string]any{"type": typ, "status": "True", "reason": reason, "message": reason,
			"lastProbeTime": now, "lastTransitionTime": now}
	}
	if fail {
		return map[string]any{"startTime": now, "failed": int64(1), "conditions": []any{
			cond("FailureTarget", "BackoffLimitExceeded"), cond("Failed", "BackoffLimitExceeded")}}
	}
	return map[string]any{"startTime": now, "completionTime": now, "succeeded": int64(1), "conditions": []any{
		cond("SuccessCriteriaMet", "CompletionsReached"), cond("Complete", "CompletionsReached")}}
}

func jobKey(ns, name string) manifest.Key {
	return manifest.Key{Group: "batch", Kind: "Job", Namespace: ns, Name: name}
}

func image(t *testing.T, s *Syncer, ns string) string {
	t.Helper()
	d := get(t, s, manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"})
	if d == nil {
		return ""
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	img, _, _ := unstructured.NestedString(cs[0].(map[string]any), "image")
	return img
}

// TestPreSyncHookRunsFirst: the PreSync Job runs while the Deployment is
// still the old one, the Deployment changes after it completed, and the
// HookSucceeded policy deletes it. Hooks stay out of the inventory.
func TestPreSyncHookRunsFirst(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{hookWeb("1")})
	ns := opts.Namespace
	var during string
	done := jobController(t, s, ns, "migrate", false, func(*unstructured.Unstructured) { during = image(t, s, ns) })
	objs := parse(t, hookWeb("2"), hookJob("migrate", synchook.HookAnnotation, "PreSync", synchook.DeletePolicyAnnotation, "HookSucceeded"))
	cs, inv, err := s.Sync(ctxFor(t), objs, inv, opts)
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	<-done
	if during != "web:1" {
		t.Errorf("while the PreSync Job ran the Deployment's image was %q, want the old web:1", during)
	}
	if got := image(t, s, ns); got != "web:2" {
		t.Errorf("after the sync the image is %q, want web:2", got)
	}
	want := []string{
		"hook-created batch/Job/" + ns + "/migrate",
		"hook-succeeded batch/Job/" + ns + "/migrate",
		"hook-deleted batch/Job/" + ns + "/migrate",
		"configured " + manifest.Key{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "web"}.String(),
	}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range cs.Changes[:3] {
		if c.Hook != synchook.PreSync {
			t.Errorf("%s %s: hook phase %q, want PreSync", c.Action, c.Key, c.Hook)
		}
	}
	if get(t, s, jobKey(ns, "migrate")) != nil {
		t.Error("the hook Job still exists: HookSucceeded should have deleted it")
	}
	if inv.Has(jobKey(ns, "migrate")) || len(inv) != 1 {
		t.Errorf("inventory %v, want only the Deployment", inv)
	}
	if got := cs.Summary(); got != "1 configured, 1 hook-created, 1 hook-succeeded, 1 hook-deleted" {
		t.Errorf("summary %q", got)
	}
}

// TestFailedHookFailsTheSync: a PreSync Job that fails stops the sync
// before anything is applied, runs the SyncFail hooks, and is kept (its
// default policy is BeforeHookCreation); the next sync deletes it before
// creating it again.
func TestFailedHookFailsTheSync(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{hookWeb("1")})
	ns := opts.Namespace
	objs := parse(t, hookWeb("2"),
		hookJob("migrate", synchook.HookAnnotation, "PreSync"),
		configMap("on-fail", nil, synchook.HookAnnotation, "SyncFail"),
		configMap("after", nil, synchook.HookAnnotation, "PostSync"))
	done := jobController(t, s, ns, "migrate", true, nil)
	cs, inv, err := s.Sync(ctxFor(t), objs, inv, opts)
	<-done
	var herr *HookError
	if !errors.As(err, &herr) || herr.Phase != synchook.PreSync {
		t.Fatalf("Sync error = %v, want a PreSync *HookError\n%s", err, cs)
	}
	if got := image(t, s, ns); got != "web:1" {
		t.Errorf("image %q after a failed PreSync hook, want web:1 unchanged", got)
	}
	want := []string{
		"hook-created batch/Job/" + ns + "/migrate",
		"hook-failed batch/Job/" + ns + "/migrate",
		"hook-created ConfigMap/" + ns + "/on-fail",
		"hook-succeeded ConfigMap/" + ns + "/on-fail",
	}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if get(t, s, cmKey(ns, "after")) != nil {
		t.Error("the PostSync hook ran although the sync failed")
	}
	if get(t, s, jobKey(ns, "migrate")) == nil || get(t, s, cmKey(ns, "on-fail")) == nil {
		t.Error("the failed Job and the SyncFail hook should be kept (BeforeHookCreation)")
	}

	// Again: the failed Job is deleted, created anew and this time completes.
	done = jobController(t, s, ns, "migrate", false, nil)
	ctx, cancel := context.WithTimeout(ctxFor(t), time.Minute)
	defer cancel()
	opts.WaitForWaves = false
	cs, _, err = s.Sync(ctx, parse(t, hookWeb("2"), hookJob("migrate", synchook.HookAnnotation, "PreSync")), inv, opts)
	<-done
	if err != nil {
		t.Fatalf("second Sync: %v\n%s", err, cs)
	}
	if got := actions(cs)[:3]; !slices.Equal(got, []string{
		"hook-deleted batch/Job/" + ns + "/migrate", "hook-created batch/Job/" + ns + "/migrate", "hook-succeeded batch/Job/" + ns + "/migrate",
	}) {
		t.Errorf("second sync began %v, want the old Job deleted, then created and succeeded", got)
	}
	if get(t, s, cmKey(ns, "on-fail")) == nil {
		t.Error("the SyncFail hook was pruned: hooks are not the app's resources")
	}
}

// TestPostSyncAndGenerateName: PostSync hooks run after the objects are
// applied and healthy; a generateName hook gets a name of its own each
// sync; Skip objects are never applied.
func TestPostSyncAndGenerateName(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	ns := opts.Namespace
	var cmDuring bool
	done := jobController(t, s, ns, "smoke-", false, func(*unstructured.Unstructured) { cmDuring = get(t, s, cmKey(ns, "config")) != nil })
	objs := parse(t, configMap("config", nil),
		hookJob("smoke-", synchook.HelmHookAnnotation, "post-install", synchook.HelmDeletePolicyAnnotation, "hook-succeeded"),
		configMap("skipped", nil, synchook.HookAnnotation, "Skip"),
		configMap("helm-test", nil, synchook.HelmHookAnnotation, "test"))
	cs, inv, err := s.Sync(ctxFor(t), objs, nil, opts)
	<-done
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	if !cmDuring {
		t.Error("the PostSync Job ran before the ConfigMap was applied")
	}
	got := actions(cs)
	if len(got) != 5 || got[1] != "created "+cmKey(ns, "config").String() || !strings.HasPrefix(got[2], "hook-created batch/Job/"+ns+"/smoke-") ||
		got[2] == "hook-created batch/Job/"+ns+"/smoke-" || !strings.HasPrefix(got[4], "hook-deleted batch/Job/"+ns+"/smoke-") {
		t.Errorf("changes:\n%s\nwant the namespace, the ConfigMap, then the generated Job created, succeeded and deleted", strings.Join(got, "\n"))
	}
	for _, name := range []string{"skipped", "helm-test"} {
		if get(t, s, cmKey(ns, name)) != nil {
			t.Errorf("ConfigMap %s was applied: Skip and Helm test hooks never are", name)
		}
	}
	if len(inv) != 1 || !inv.Has(cmKey(ns, "config")) {
		t.Errorf("inventory %v, want only the ConfigMap", inv)
	}
}

// TestHookNotOwned: a named hook over an object ferry does not own fails,
// and leaves that object alone.
func TestHookNotOwned(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	ns := opts.Namespace
	if _, _, err := s.Sync(ctxFor(t), parse(t, configMap("seed", nil)), nil, opts); err != nil {
		t.Fatal(err)
	}
	cms, err := s.resourceFor(cmKey(ns, ""))
	if err != nil {
		t.Fatal(err)
	}
	theirs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "theirs"}, "data": map[string]any{"owner": "someone"}}}
	if _, err := cms.Create(ctxFor(t), theirs, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cs, _, err := s.Sync(ctxFor(t), parse(t, configMap("seed", nil), configMap("theirs", nil, synchook.HookAnnotation, "PreSync")), nil, opts)
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("Sync error = %v, want ErrNotOwned\n%s", err, cs)
	}
	live := get(t, s, cmKey(ns, "theirs"))
	if v, _, _ := unstructured.NestedString(live.Object, "data", "owner"); v != "someone" {
		t.Errorf("their ConfigMap was modified: %v", live.Object["data"])
	}
}

// TestSyncHooksBetweenWaves: a Sync hook runs after the objects of its wave
// and before the next wave's.
func TestSyncHooksBetweenWaves(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	ns := opts.Namespace
	objs := parse(t,
		configMap("late", nil, SyncWaveAnnotation, "2"),
		configMap("mid", nil, synchook.HookAnnotation, "Sync", SyncWaveAnnotation, "1", synchook.DeletePolicyAnnotation, "HookSucceeded"),
		configMap("early", nil),
		configMap("with-early", nil, synchook.HookAnnotation, "Sync"))
	cs, _, err := s.Sync(ctxFor(t), objs, nil, opts)
	if err != nil {
		t.Fatalf("Sync: %v\n%s", err, cs)
	}
	want := []string{
		"created " + manifest.Key{Kind: "Namespace", Name: ns}.String(),
		"created " + cmKey(ns, "early").String(),
		"hook-created " + cmKey(ns, "with-early").String(),
		"hook-succeeded " + cmKey(ns, "with-early").String(),
		"hook-created " + cmKey(ns, "mid").String(),
		"hook-succeeded " + cmKey(ns, "mid").String(),
		"hook-deleted " + cmKey(ns, "mid").String(),
		"created " + cmKey(ns, "late").String(),
	}
	if got := actions(cs); !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHookTimeout: a hook Job that never completes fails the phase once the
// bound passes, and HookFailed deletes it.
func TestHookTimeout(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	opts.HealthTimeout = time.Second
	ns := opts.Namespace
	start := time.Now()
	cs, _, err := s.Sync(ctxFor(t), parse(t, configMap("app", nil),
		hookJob("stuck", synchook.HookAnnotation, "PreSync", synchook.DeletePolicyAnnotation, "HookFailed")), nil, opts)
	if !errors.Is(err, errHookTimeout) {
		t.Fatalf("Sync error = %v, want a hook timeout\n%s", err, cs)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the sync took %s, far beyond its 1s bound", took)
	}
	if got := actions(cs); !slices.Contains(got, "hook-failed "+jobKey(ns, "stuck").String()) || !slices.Contains(got, "hook-deleted "+jobKey(ns, "stuck").String()) {
		t.Errorf("changes %v: want the Job failed, then deleted (HookFailed)", got)
	}
	if get(t, s, cmKey(ns, "app")) != nil {
		t.Error("the ConfigMap was applied although the PreSync hook failed")
	}
}

// TestGenerateNameBeforeHookCreation: each sync creates a generateName hook
// anew, and BeforeHookCreation (the default) deletes the previous one.
func TestGenerateNameBeforeHookCreation(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	ns := opts.Namespace
	hook := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: notify-\n  annotations: {argocd.argoproj.io/hook: PostSync}\ndata: {k: v}"
	var names []string
	for range 2 {
		cs, _, err := s.Sync(ctxFor(t), parse(t, configMap("app", nil), hook), nil, opts)
		if err != nil {
			t.Fatalf("Sync: %v\n%s", err, cs)
		}
		for _, c := range cs.Changes {
			if c.Action == HookCreated {
				names = append(names, c.Key.Name)
			}
			if c.Action == HookDeleted && (len(names) != 1 || c.Key.Name != names[0]) {
				t.Errorf("deleted %s, want only the first sync's hook %v", c.Key, names)
			}
		}
	}
	if len(names) != 2 || names[0] == names[1] || !strings.HasPrefix(names[0], "notify-") {
		t.Fatalf("hooks created %v, want two of their own names", names)
	}
	if get(t, s, cmKey(ns, names[0])) != nil || get(t, s, cmKey(ns, names[1])) == nil {
		t.Errorf("want %s deleted and %s kept", names[0], names[1])
	}
}

// TestHookBecomesAResource: a hook the app left behind (BeforeHookCreation
// keeps it until the next run) that the app now renders as an ordinary
// object is taken over as the app's resource, not refused as another's.
func TestHookBecomesAResource(t *testing.T) {
	s := newSyncer(t, nil)
	opts := testOptions(t)
	ns := opts.Namespace
	if cs, _, err := s.Sync(ctxFor(t), parse(t, configMap("seed", nil), configMap("was-hook", nil, synchook.HookAnnotation, "Sync")), nil, opts); err != nil {
		t.Fatalf("first sync: %v\n%s", err, cs)
	}
	if got := get(t, s, cmKey(ns, "was-hook")).GetAnnotations()[TrackingAnnotation]; got != "" {
		t.Fatalf("the hook carries tracking id %q; a hook is not a resource", got)
	}
	cs, inv, err := s.Sync(ctxFor(t), parse(t, configMap("seed", nil), configMap("was-hook", nil)), nil, opts)
	if err != nil {
		t.Fatalf("second sync: %v\n%s", err, cs)
	}
	live := get(t, s, cmKey(ns, "was-hook"))
	if got, want := live.GetAnnotations()[TrackingAnnotation], TrackingID(opts.App, cmKey(ns, "was-hook")); got != want {
		t.Errorf("tracking id %q, want %q", got, want)
	}
	if !inv.Has(cmKey(ns, "was-hook")) {
		t.Errorf("inventory %v lacks the former hook", inv)
	}
}
