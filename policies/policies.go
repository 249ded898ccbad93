// Package policies embeds ferry's default merge policies, the Rego files
// beside this one (package ferry.defaults). internal/policy evaluates them
// together with a repository's .ferry/policies; README.md documents the
// input document and what the policies decide.
package policies

import (
	"embed"
	"io/fs"
)

//go:embed *.rego
var files embed.FS

// Defaults returns the default policies: the *.rego files at the root of
// the returned file system.
func Defaults() fs.FS { return files }
