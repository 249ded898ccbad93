// Package ferry holds files that live at the repository's top level and are
// built into the binary: the GitHub App manifest.
package ferry

import _ "embed"

// AppManifest is app.yml, the GitHub App manifest served by GET /setup.
//
//go:embed app.yml
var AppManifest []byte
