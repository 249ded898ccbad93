package syncer

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/synchook"
)

// hookDoc is a Job hook with the given annotations (key, value pairs); a
// name ending in "-" is a generateName.
func hookDoc(name string, annotations ...string) string {
	var b strings.Builder
	field := "name"
	if strings.HasSuffix(name, "-") {
		field = "generateName"
	}
	fmt.Fprintf(&b, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  %s: %s\n  annotations:\n", field, name)
	for i := 0; i+1 < len(annotations); i += 2 {
		fmt.Fprintf(&b, "    %s: %q\n", annotations[i], annotations[i+1])
	}
	return b.String()
}

func TestHookPhasePlan(t *testing.T) {
	objs := parse(t,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  annotations: {argocd.argoproj.io/sync-wave: \"2\"}",
		hookDoc("migrate", synchook.HookAnnotation, "PreSync"),
		hookDoc("schema-", synchook.HookAnnotation, "PreSync", synchook.SyncWaveAnnotation, "-1"),
		hookDoc("helm-pre", synchook.HelmHookAnnotation, "pre-upgrade", synchook.HelmWeightAnnotation, "5"),
		hookDoc("during", synchook.HookAnnotation, "Sync"),
		hookDoc("between", synchook.HookAnnotation, "Sync", synchook.SyncWaveAnnotation, "1"),
		hookDoc("smoke", synchook.HookAnnotation, "PostSync,SyncFail"),
		hookDoc("helm-post", synchook.HelmHookAnnotation, "post-install"),
		hookDoc("cleanup", synchook.HookAnnotation, "SyncFail"),
		hookDoc("helm-test", synchook.HelmHookAnnotation, "test"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: skipped\n  annotations: {argocd.argoproj.io/hook: Skip}",
	)
	ordinary, hooks, err := splitHooks(objs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range ordinary {
		names = append(names, o.Key.Name)
	}
	if want := []string{"web", "late"}; !slices.Equal(names, want) {
		t.Errorf("ordinary objects = %v, want %v (hooks and Skip apart)", names, want)
	}
	hookNames := func(hs []hookTask) []string {
		var out []string
		for _, h := range hs {
			out = append(out, fmt.Sprintf("%d:%s%s", h.spec.Wave, h.obj.Key.Name, h.generateName()))
		}
		return out
	}
	tests := []struct {
		phase synchook.Phase
		want  []string
	}{
		{synchook.PreSync, []string{"-1:schema-", "0:migrate", "5:helm-pre"}},
		{synchook.Sync, []string{"0:during", "1:between"}},
		{synchook.PostSync, []string{"0:helm-post", "0:smoke"}},
		{synchook.SyncFail, []string{"0:cleanup", "0:smoke"}},
	}
	for _, tt := range tests {
		if got := hookNames(hooks.of(tt.phase)); !slices.Equal(got, tt.want) {
			t.Errorf("%s hooks = %v, want %v", tt.phase, got, tt.want)
		}
	}
	if len(hooks) != 9 {
		t.Errorf("%d hooks, want 9 (the Helm test hook is a hook that never runs)", len(hooks))
	}

	waves, err := plan(ordinary)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range withSyncHooks(waves, hooks.of(synchook.Sync)) {
		got = append(got, fmt.Sprintf("%d: %d groups, hooks %v", w.number, len(w.groups), hookNames(w.hooks)))
	}
	want := []string{"0: 1 groups, hooks [0:during]", "1: 0 groups, hooks [1:between]", "2: 1 groups, hooks []"}
	if !slices.Equal(got, want) {
		t.Errorf("waves with Sync hooks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSplitHooksRejects(t *testing.T) {
	tests := []struct {
		name, want string
		docs       []string
	}{
		{"hook without name", "neither a name nor a generateName",
			[]string{"apiVersion: batch/v1\nkind: Job\nmetadata:\n  annotations: {argocd.argoproj.io/hook: PreSync}"}},
		{"hook twice", "rendered twice",
			[]string{hookDoc("a", synchook.HookAnnotation, "PreSync"), hookDoc("a", synchook.HookAnnotation, "PostSync")}},
		{"hook and resource of one name", "both as a hook and as a resource",
			[]string{hookDoc("a", synchook.HookAnnotation, "PreSync"), "apiVersion: batch/v1\nkind: Job\nmetadata: {name: a}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := splitHooks(parse(t, tt.docs...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("splitHooks error = %v, want one saying %q", err, tt.want)
			}
		})
	}
	// Two generateName hooks of one prefix are two hooks, not a duplicate.
	if _, hooks, err := splitHooks(parse(t, hookDoc("x-", synchook.HookAnnotation, "PreSync"), hookDoc("x-", synchook.HookAnnotation, "PostSync"))); err != nil || len(hooks) != 2 {
		t.Errorf("generateName hooks: %d hooks, error %v; want 2, none", len(hooks), err)
	}
}
