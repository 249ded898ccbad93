// Package fetch brings remote sources into a render: Helm charts from chart
// repositories (an index.yaml over HTTP(S)) and OCI registries, and Git
// trees for remote Kustomize bases. It fetches only from the repositories
// the server's configuration allows (a pull request can never add one),
// within size and time limits, verifies what it downloads, and keeps it in
// an on-disk cache keyed by content (chart name, version and digest; Git
// commit) bounded by size, so a second render of the same chart or commit
// sends no request.
//
// Fetching happens in the render worker, never in the server's process.
package fetch
