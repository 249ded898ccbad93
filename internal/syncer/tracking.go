package syncer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

const (
	// TrackingAnnotation marks an object as ferry's, for one app and one
	// identity: <app>:<group>/<kind>:<namespace>/<name>, Argo CD's
	// annotation-tracking format. Only an exact match is ferry's: a copy of
	// the object under another name, or the same name in another app, is not.
	TrackingAnnotation = "ferry.dev/tracking-id"

	// AppLabel carries the app on every applied object so pruning can list
	// candidates server-side; annotations cannot be selected on. The label
	// only narrows the list: TrackingAnnotation decides.
	AppLabel = "ferry.dev/app"

	// CreatedForAnnotation marks a namespace CreateNamespace made for an app.
	// Such a namespace is not tracked (nor pruned), as in Argo CD, but the
	// app may take it over by rendering it.
	CreatedForAnnotation = "ferry.dev/created-for"

	// Argo CD's annotations, honoured as Argo CD does.
	SyncWaveAnnotation    = "argocd.argoproj.io/sync-wave"
	SyncOptionsAnnotation = "argocd.argoproj.io/sync-options"
)

// TrackingID is the value of TrackingAnnotation for app's object k.
func TrackingID(app string, k manifest.Key) string {
	return fmt.Sprintf("%s:%s/%s:%s/%s", app, k.Group, k.Kind, k.Namespace, k.Name)
}

// AppLabelValue is the value of AppLabel for app: app when it is a valid label value (Argo CD app names
// usually are), else a hash of it: app names may be 253 characters long,
// label values only 63.
func AppLabelValue(app string) string {
	if len(validation.IsValidLabelValue(app)) == 0 {
		return app
	}
	sum := sha256.Sum256([]byte(app))
	return "sha256-" + hex.EncodeToString(sum[:])[:48]
}

// AppID is the app an environment's objects belong to in a cluster: the
// repository and the environment, so that two repositories' environments
// of one name never take each other's objects. Environment names are
// DNS-1123, so the last "/" separates them.
func AppID(repo, env string) string {
	if repo == "" {
		return env
	}
	return repo + "/" + env
}

// owned reports whether an object with these annotations is app's object k.
func owned(annotations map[string]string, app string, k manifest.Key) bool {
	return annotations[TrackingAnnotation] == TrackingID(app, k)
}

// ownedBy reports whether the object is opts.App's: by its tracking id, or
// by the legacy id an older ferry gave it (the environment's name alone)
// when the app's own inventory holds it, which proves it was this
// repository's.
func ownedBy(annotations map[string]string, opts Options, k manifest.Key) bool {
	if owned(annotations, opts.App, k) {
		return true
	}
	return opts.LegacyApp != "" && opts.legacy.Has(k) && owned(annotations, opts.LegacyApp, k)
}

// pruneDisabled reports whether the object opts out of pruning with the
// sync option Prune=false. Prune=confirm, which in Argo CD waits for a
// person's go-ahead, is kept too: ferry has no one to ask.
func pruneDisabled(annotations map[string]string) (string, bool) {
	for _, opt := range strings.Split(annotations[SyncOptionsAnnotation], ",") {
		switch strings.TrimSpace(opt) {
		case "Prune=false":
			return "sync option Prune=false", true
		case "Prune=confirm":
			return "sync option Prune=confirm: ferry does not prune objects that need a confirmation", true
		}
	}
	return "", false
}
