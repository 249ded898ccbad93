package synchook

import (
	"reflect"
	"testing"
)

func TestFromAnnotations(t *testing.T) {
	bhc := []DeletePolicy{BeforeHookCreation}
	tests := []struct {
		name string
		ann  map[string]string
		want Spec
	}{
		{"ordinary resource", map[string]string{"a": "b"}, Spec{}},
		{"ordinary resource keeps its wave", map[string]string{SyncWaveAnnotation: "3"}, Spec{Wave: 3}},
		{"PreSync, default policy", map[string]string{HookAnnotation: "PreSync"},
			Spec{Hook: true, Phases: []Phase{PreSync}, Policies: bhc, Raw: "PreSync"}},
		{"list with spaces and duplicates", map[string]string{HookAnnotation: "PreSync, PostSync,PreSync"},
			Spec{Hook: true, Phases: []Phase{PreSync, PostSync}, Policies: bhc, Raw: "PreSync, PostSync,PreSync"}},
		{"Skip alone is skipped", map[string]string{HookAnnotation: "Skip"}, Spec{Skip: true, Raw: "Skip"}},
		{"Skip with a phase is a hook", map[string]string{HookAnnotation: "Skip,SyncFail"},
			Spec{Hook: true, Phases: []Phase{SyncFail}, Policies: bhc, Raw: "Skip,SyncFail"}},
		{"unknown type: a hook of no phase", map[string]string{HookAnnotation: "Later"},
			Spec{Hook: true, Policies: bhc, Raw: "Later"}},
		{"delete policies", map[string]string{HookAnnotation: "Sync", DeletePolicyAnnotation: "HookSucceeded,HookFailed,Bogus"},
			Spec{Hook: true, Phases: []Phase{Sync}, Policies: []DeletePolicy{HookSucceeded, HookFailed}, Raw: "Sync"}},
		{"sync-wave orders hooks", map[string]string{HookAnnotation: "PostSync", SyncWaveAnnotation: "-2", HelmWeightAnnotation: "5"},
			Spec{Hook: true, Phases: []Phase{PostSync}, Policies: bhc, Wave: -2, Raw: "PostSync"}},
		{"helm pre-install/pre-upgrade", map[string]string{HelmHookAnnotation: "pre-install,pre-upgrade", HelmWeightAnnotation: "-5"},
			Spec{Hook: true, Helm: true, Phases: []Phase{PreSync}, Policies: bhc, Wave: -5, Raw: "pre-install,pre-upgrade"}},
		{"helm post-upgrade, policies mapped", map[string]string{HelmHookAnnotation: "post-upgrade", HelmDeletePolicyAnnotation: "hook-succeeded,before-hook-creation"},
			Spec{Hook: true, Helm: true, Phases: []Phase{PostSync}, Policies: []DeletePolicy{HookSucceeded, BeforeHookCreation}, Raw: "post-upgrade"}},
		{"helm test: never run", map[string]string{HelmHookAnnotation: "test"},
			Spec{Hook: true, Helm: true, Policies: bhc, Raw: "test"}},
		{"helm pre-delete and pre-rollback: never run", map[string]string{HelmHookAnnotation: "pre-delete,pre-rollback"},
			Spec{Hook: true, Helm: true, Policies: bhc, Raw: "pre-delete,pre-rollback"}},
		{"helm crd-install is an ordinary resource", map[string]string{HelmHookAnnotation: "crd-install"}, Spec{}},
		{"Argo CD's annotation wins over Helm's", map[string]string{HookAnnotation: "Sync", HelmHookAnnotation: "pre-install"},
			Spec{Hook: true, Phases: []Phase{Sync}, Policies: bhc, Raw: "Sync"}},
		{"Helm's phases when Argo CD's names none", map[string]string{HookAnnotation: "Nope", HelmHookAnnotation: "post-install"},
			Spec{Hook: true, Helm: true, Phases: []Phase{PostSync}, Policies: bhc, Raw: "Nope"}},
		{"both delete policy annotations count", map[string]string{HookAnnotation: "PreSync", DeletePolicyAnnotation: "HookFailed", HelmDeletePolicyAnnotation: "hook-succeeded"},
			Spec{Hook: true, Phases: []Phase{PreSync}, Policies: []DeletePolicy{HookFailed, HookSucceeded}, Raw: "PreSync"}},
		{"bad wave is 0", map[string]string{HookAnnotation: "PreSync", SyncWaveAnnotation: "1O"},
			Spec{Hook: true, Phases: []Phase{PreSync}, Policies: bhc, Raw: "PreSync"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromAnnotations(tt.ann); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromAnnotations(%v)\n got %+v\nwant %+v", tt.ann, got, tt.want)
			}
		})
	}
}

func TestOfAndLabel(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want string
	}{
		{"no metadata", map[string]any{"kind": "Job"}, ""},
		{"non-string annotation ignored", map[string]any{"metadata": map[string]any{"annotations": map[string]any{HookAnnotation: 3}}}, ""},
		{"PreSync", map[string]any{"metadata": map[string]any{"annotations": map[string]any{HookAnnotation: "PreSync"}}}, "PreSync"},
		{"two phases", map[string]any{"metadata": map[string]any{"annotations": map[string]any{HookAnnotation: "PreSync,PostSync"}}}, "PreSync, PostSync"},
		{"skip", map[string]any{"metadata": map[string]any{"annotations": map[string]any{HookAnnotation: "Skip"}}}, "Skip"},
		{"helm test", map[string]any{"metadata": map[string]any{"annotations": map[string]any{HelmHookAnnotation: "test"}}}, "not run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.obj).Label(); got != tt.want {
				t.Errorf("Label() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHasAndDeletes(t *testing.T) {
	s := FromAnnotations(map[string]string{HookAnnotation: "PreSync,SyncFail", DeletePolicyAnnotation: "HookSucceeded"})
	tests := []struct {
		what string
		got  bool
		want bool
	}{
		{"Has(PreSync)", s.Has(PreSync), true},
		{"Has(SyncFail)", s.Has(SyncFail), true},
		{"Has(Sync)", s.Has(Sync), false},
		{"Deletes(HookSucceeded)", s.Deletes(HookSucceeded), true},
		{"Deletes(BeforeHookCreation) (a policy given replaces the default)", s.Deletes(BeforeHookCreation), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.what, tt.got, tt.want)
		}
	}
}
