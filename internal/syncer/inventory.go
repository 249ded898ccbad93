package syncer

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Inventory is the set of objects ferry owns for one app in one cluster, as
// of the end of a sync. The caller persists it and hands it to the next sync,
// which prunes what it holds and the new render does not. It is a sorted set
// (apply order, no duplicates) so it marshals to the same JSON every time.
//
// The inventory is one of two ways the syncer finds what to prune; the other
// is listing the cluster for ferry's tracking annotation. Either alone can
// miss an object (a lost inventory; a label someone removed), both together
// rarely do. Namespaces in keys are the effective ones: filled in for
// namespaced objects, empty for cluster-scoped ones.
type Inventory []manifest.Key

// NewInventory returns the set of keys.
func NewInventory(keys ...manifest.Key) Inventory {
	out := make(Inventory, 0, len(keys))
	seen := make(map[manifest.Key]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return manifest.Less(out[i], out[j]) })
	return out
}

// Has reports whether k is in the inventory.
func (inv Inventory) Has(k manifest.Key) bool {
	for _, x := range inv {
		if x == k {
			return true
		}
	}
	return false
}

// Union is the keys in either inventory.
func (inv Inventory) Union(other Inventory) Inventory {
	return NewInventory(append(append(make([]manifest.Key, 0, len(inv)+len(other)), inv...), other...)...)
}

// Difference is the keys of inv that are not in other: with inv the
// previous inventory and other the desired objects, what to prune.
func (inv Inventory) Difference(other Inventory) Inventory {
	drop := make(map[manifest.Key]bool, len(other))
	for _, k := range other {
		drop[k] = true
	}
	out := Inventory{}
	for _, k := range NewInventory(inv...) {
		if !drop[k] {
			out = append(out, k)
		}
	}
	return out
}

// Kinds is the distinct group-kinds of the keys, in apply order: what to
// list when looking for tracked objects.
func (inv Inventory) Kinds() []schema.GroupKind {
	var out []schema.GroupKind
	seen := map[schema.GroupKind]bool{}
	for _, k := range inv {
		gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
		if !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	return out
}
