package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// digestPrefix starts a sealed Secret value. Secret data is base64, which
// has no ':', so a sealed value is never a real one.
const digestPrefix = "sha256:"

// Seal returns o as ferry may keep it outside the process (the store's
// watch state): a v1 Secret's stringData folded into data, as the API
// server does, and each data value replaced by its digest. Drift compares
// a sealed value with the digest of the live one, so watching works the
// same; the values themselves are never kept. Other objects are returned
// as they are.
func Seal(o manifest.Object) manifest.Object {
	if o.Key.Kind != "Secret" || o.Key.Group != "" || o.APIVersion() != "v1" {
		return o
	}
	obj := foldStringData(o.Object)
	data, _ := obj["data"].(map[string]any)
	if len(data) == 0 {
		return o
	}
	out := maps.Clone(obj)
	out["data"] = digestData(data)
	o.Object = out
	return o
}

// digestData replaces each string value of a Secret's data by its digest
// (anything else, never valid there, is left as it is).
func digestData(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		if s, ok := v.(string); ok {
			v = digest(s)
		}
		out[k] = v
	}
	return out
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return digestPrefix + hex.EncodeToString(sum[:])
}

// sealed reports whether want is a Secret sealed by Seal.
func sealed(want map[string]any) bool {
	data, _ := want["data"].(map[string]any)
	for _, v := range data {
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, digestPrefix)
	}
	return false
}

// sealLive returns live's fields with its Secret data digested, to compare
// with a sealed desired state (live itself, the informer's, is untouched).
func sealLive(live map[string]any) map[string]any {
	data, _ := live["data"].(map[string]any)
	if len(data) == 0 {
		return live
	}
	out := maps.Clone(live)
	out["data"] = digestData(data)
	return out
}
