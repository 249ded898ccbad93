package syncer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// denyKinds refuses the kinds and namespaces given, and records every
// question it was asked.
type denyKinds struct {
	kinds, namespaces []string
	asked             []string
}

func (d *denyKinds) permit(k manifest.Key, namespaced bool) error {
	d.asked = append(d.asked, fmt.Sprintf("%s namespaced=%v", k, namespaced))
	if slices.Contains(d.kinds, k.Kind) {
		return fmt.Errorf("%s is not permitted", k.Kind)
	}
	if slices.Contains(d.namespaces, k.Namespace) || (k.Kind == "Namespace" && slices.Contains(d.namespaces, k.Name)) {
		return fmt.Errorf("namespace %s is not permitted", k.Namespace+k.Name)
	}
	return nil
}

func TestPermitRefusesBeforeApplying(t *testing.T) {
	crb := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: default}]`
	inKubeSystem := `apiVersion: v1
kind: ConfigMap
metadata: {name: %s, namespace: kube-system}
data: {k: v}`
	tests := []struct {
		name    string
		deny    denyKinds
		docs    func(app string) []string
		refused []string // kinds of the refused objects
	}{
		{"cluster-admin binding", denyKinds{kinds: []string{"ClusterRoleBinding"}},
			func(app string) []string { return []string{configMap("settings", nil), fmt.Sprintf(crb, app)} }, []string{"ClusterRoleBinding"}},
		{"object in kube-system", denyKinds{namespaces: []string{"kube-system"}},
			func(app string) []string { return []string{configMap("settings", nil), fmt.Sprintf(inKubeSystem, app)} }, []string{"ConfigMap"}},
		{"everything permitted", denyKinds{},
			func(string) []string { return []string{configMap("settings", nil)} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSyncer(t, nil)
			opts := testOptions(t)
			opts.Permit = tt.deny.permit
			cs, _, err := s.Sync(ctxFor(t), parse(t, tt.docs(opts.App)...), nil, opts)
			if tt.refused == nil {
				if err != nil {
					t.Fatalf("sync: %v", err)
				}
				if !slices.Contains(tt.deny.asked, manifest.Key{Kind: "Namespace", Name: opts.Namespace}.String()+" namespaced=false") {
					t.Errorf("the namespace CreateNamespace makes was not asked about: %q", tt.deny.asked)
				}
				return
			}
			var pe *PermitError
			if !errors.As(err, &pe) || !errors.Is(err, ErrNotPermitted) {
				t.Fatalf("err = %v, want a *PermitError", err)
			}
			var kinds []string
			for _, e := range pe.Errors {
				kinds = append(kinds, e.Key.Kind)
			}
			if !slices.Equal(kinds, tt.refused) {
				t.Errorf("refused %q, want %q", kinds, tt.refused)
			}
			if len(cs.Changes) != 0 {
				t.Errorf("changes = %q, want none", actions(cs))
			}
			// Nothing reached the cluster, the destination namespace included.
			if get(t, s, cmKey(opts.Namespace, "settings")) != nil || get(t, s, manifest.Key{Kind: "Namespace", Name: opts.Namespace}) != nil {
				t.Error("a refused sync applied objects")
			}
			if !strings.Contains(err.Error(), "not permitted") {
				t.Errorf("message %q does not say why", err)
			}
		})
	}
}

func TestPermitKeepsRefusedPruneCandidates(t *testing.T) {
	s, opts, inv := syncedApp(t, []string{configMap("keep", nil), configMap("old", nil)})
	deny := denyKinds{}
	opts.Permit = func(k manifest.Key, namespaced bool) error {
		if k.Name == "old" {
			return errors.New("ConfigMap old is outside the project now")
		}
		return deny.permit(k, namespaced)
	}
	cs, next, err := s.Sync(ctxFor(t), parse(t, configMap("keep", nil)), inv, opts)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	old := cmKey(opts.Namespace, "old")
	if get(t, s, old) == nil {
		t.Fatal("a prune the permit refused deleted the object")
	}
	if !next.Has(old) {
		t.Error("the object left in place is no longer tracked")
	}
	if want := "prune-skipped " + old.String(); !slices.Contains(actions(cs), want) {
		t.Errorf("changes %q lack %q", actions(cs), want)
	}
}
