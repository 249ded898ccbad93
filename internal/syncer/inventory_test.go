package syncer

import (
	"encoding/json"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

func TestInventory(t *testing.T) {
	ns := manifest.Key{Kind: "Namespace", Name: "prod"}
	cm := cmKey("prod", "settings")
	cm2 := cmKey("prod", "extra")
	dep := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}
	crd := manifest.Key{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.ferry.test"}
	widget := manifest.Key{Group: "ferry.test", Kind: "Widget", Namespace: "prod", Name: "w"}

	tests := []struct {
		name      string
		prev, cur Inventory
		union     Inventory
		prune     Inventory
		kinds     []schema.GroupKind
	}{
		{
			name:  "first sync",
			prev:  nil,
			cur:   Inventory{dep, cm},
			union: Inventory{cm, dep},
			prune: Inventory{},
			kinds: []schema.GroupKind{{Kind: "ConfigMap"}, {Group: "apps", Kind: "Deployment"}},
		},
		{
			name:  "a ConfigMap dropped",
			prev:  Inventory{cm, cm2, dep},
			cur:   Inventory{dep, cm},
			union: Inventory{cm2, cm, dep},
			prune: Inventory{cm2},
		},
		{
			name:  "everything dropped",
			prev:  Inventory{widget, crd, ns},
			cur:   nil,
			union: Inventory{ns, crd, widget},
			prune: Inventory{ns, crd, widget},
			kinds: []schema.GroupKind{{Kind: "Namespace"}, {Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}, {Group: "ferry.test", Kind: "Widget"}},
		},
		{
			name:  "duplicates and disorder",
			prev:  Inventory{dep, cm, dep, cm},
			cur:   Inventory{cm},
			union: Inventory{cm, dep},
			prune: Inventory{dep},
		},
		{
			name:  "same name, other namespace is another object",
			prev:  Inventory{cmKey("staging", "settings"), cm},
			cur:   Inventory{cm},
			union: Inventory{cm, cmKey("staging", "settings")},
			prune: Inventory{cmKey("staging", "settings")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.prev.Union(tt.cur); !slices.Equal(got, tt.union) {
				t.Errorf("Union = %v, want %v", got, tt.union)
			}
			if got := tt.prev.Difference(tt.cur); !slices.Equal(got, tt.prune) {
				t.Errorf("Difference = %v, want %v", got, tt.prune)
			}
			if tt.kinds != nil {
				if got := tt.prev.Union(tt.cur).Kinds(); !slices.Equal(got, tt.kinds) {
					t.Errorf("Kinds = %v, want %v", got, tt.kinds)
				}
			}
			for _, k := range tt.union {
				if !tt.prev.Union(tt.cur).Has(k) {
					t.Errorf("union lacks %s", k)
				}
			}
		})
	}
}

func TestInventoryJSON(t *testing.T) {
	inv := NewInventory(cmKey("prod", "b"), cmKey("prod", "a"), manifest.Key{Kind: "Namespace", Name: "prod"})
	data, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"group":"","kind":"Namespace","namespace":"","name":"prod"},` +
		`{"group":"","kind":"ConfigMap","namespace":"prod","name":"a"},` +
		`{"group":"","kind":"ConfigMap","namespace":"prod","name":"b"}]`
	if string(data) != want {
		t.Errorf("JSON %s, want %s", data, want)
	}
	var back Inventory
	if err := json.Unmarshal(data, &back); err != nil || !slices.Equal(back, inv) {
		t.Errorf("round trip: %v %v", back, err)
	}
}
