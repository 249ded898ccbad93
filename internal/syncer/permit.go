package syncer

import (
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// ErrNotPermitted is what a *PermitError is.
var ErrNotPermitted = errors.New("not permitted")

// Permit decides whether a sync may touch an object: its effective key
// (the namespace the sync gives it filled in) and whether its kind is
// namespaced. A non-nil error refuses it, and says why.
type Permit func(k manifest.Key, namespaced bool) error

// PermitError refuses a whole sync before anything was applied: the
// objects Options.Permit refused.
type PermitError struct {
	Errors []*ObjectError
}

// Error leads with the reasons, which are what a reader needs (and all a
// deployment status's 140 characters hold).
func (e *PermitError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, oe := range e.Errors {
		parts[i] = fmt.Sprintf("%v (%s)", oe.Err, oe.Key)
	}
	return strings.Join(parts, "; ") + "; nothing applied"
}

// Is makes errors.Is(err, ErrNotPermitted) hold.
func (e *PermitError) Is(target error) bool { return target == ErrNotPermitted }

// Unwrap returns the refused objects' errors.
func (e *PermitError) Unwrap() []error { return unwrapAll(e.Errors) }

// permitted asks opts.Permit about every object of the render, and about
// the namespace CreateNamespace would create, before anything is applied.
// A kind the cluster does not serve yet takes its scope from a
// CustomResourceDefinition of the same render; one that neither knows is
// left to fail when it is applied.
func (s *Syncer) permitted(objs []manifest.Object, opts Options) error {
	if opts.Permit == nil {
		return nil
	}
	var refused []*ObjectError
	check := func(k manifest.Key, namespaced bool) {
		if err := opts.Permit(k, namespaced); err != nil {
			refused = append(refused, &ObjectError{Key: k, Err: err})
		}
	}
	if opts.CreateNamespace && opts.Namespace != "" {
		check(manifest.Key{Kind: "Namespace", Name: opts.Namespace}, false)
	}
	crds := renderedScopes(objs)
	for _, o := range objs {
		t := s.resolve(o, opts.Namespace)
		if t.err == nil {
			check(t.key, t.key.Namespace != "")
			continue
		}
		namespaced, ok := crds[schema.GroupKind{Group: o.Key.Group, Kind: o.Key.Kind}]
		if !ok {
			continue
		}
		k := o.Key
		switch {
		case !namespaced:
			k.Namespace = ""
		case k.Namespace == "" && opts.Namespace != "":
			k.Namespace = opts.Namespace
		case k.Namespace == "":
			k.Namespace = metav1.NamespaceDefault
		}
		check(k, namespaced)
	}
	if len(refused) > 0 {
		return &PermitError{Errors: refused}
	}
	return nil
}

// renderedScopes maps the kinds the render's CRDs define to whether they
// are namespaced.
func renderedScopes(objs []manifest.Object) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, o := range objs {
		if group, kind, namespaced, ok := o.DefinedKind(); ok {
			out[schema.GroupKind{Group: group, Kind: kind}] = namespaced
		}
	}
	return out
}
