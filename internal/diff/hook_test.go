package diff

import (
	"testing"
)

// TestCompareMarksHooks: each change says whether its object is a sync hook,
// and of which phases, from the head (or the base, when removed).
func TestCompareMarksHooks(t *testing.T) {
	cm := func(name, annotations string) string {
		return "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  annotations: {" + annotations + "}\ndata: {k: v}\n"
	}
	base := cm("plain", "") + cm("removed-hook", "argocd.argoproj.io/hook: SyncFail") + cm("became-hook", "") +
		cm("still-hook", "argocd.argoproj.io/hook: PreSync")
	head := cm("plain", "a: b") + cm("became-hook", "helm.sh/hook: post-upgrade") + cm("still-hook", "argocd.argoproj.io/hook: PreSync") +
		cm("skipped", "argocd.argoproj.io/hook: Skip") + cm("test", "helm.sh/hook: test") + cm("both", "argocd.argoproj.io/hook: \"PreSync,PostSync\"")
	tests := map[string]struct {
		change ChangeType
		hook   string
	}{
		"plain":        {Changed, ""},
		"removed-hook": {Removed, "SyncFail"},
		"became-hook":  {Changed, "PostSync"},
		"still-hook":   {Unchanged, "PreSync"},
		"skipped":      {Added, "Skip"},
		"test":         {Added, "not run"},
		"both":         {Added, "PreSync, PostSync"},
	}
	changes := Compare(parse(t, base), parse(t, head), Options{})
	if len(changes) != len(tests) {
		t.Fatalf("%d changes, want %d", len(changes), len(tests))
	}
	for _, c := range changes {
		want := tests[c.Name]
		if c.Change != want.change || c.Hook != want.hook {
			t.Errorf("%s: %s, hook %q; want %s, hook %q", c.Name, c.Change, c.Hook, want.change, want.hook)
		}
	}
}
