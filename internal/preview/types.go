package preview

import (
	"time"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// Status is an environment's outcome in a preview.
type Status string

const (
	Changed   Status = "changed"
	Unchanged Status = "unchanged"
	Error     Status = "error"
	// External environments point at another repository and are not rendered.
	External Status = "external"
)

// Counts tallies an environment's resources by change.
type Counts struct {
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
}

// EnvironmentResult is one environment's part of a preview.
type EnvironmentResult struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Error is the render error, with ErrorFile/ErrorLine locating it when known.
	Error     string `json:"error,omitempty"`
	ErrorFile string `json:"errorFile,omitempty"`
	ErrorLine int    `json:"errorLine,omitempty"`
	// BaseError is set when the base revision failed to render; the head is
	// then diffed against nothing so what it would deploy stays visible.
	BaseError string `json:"baseError,omitempty"`
	// Touched is true when a changed file is among those the environment's
	// render read at the base or the head; untouched environments are not rendered twice.
	Touched bool `json:"touched"`
	// Lifecycle says whether the environment itself is new or gone in this change.
	Lifecycle string `json:"lifecycle,omitempty"` // "", "added", "removed"

	Type        environment.SourceType  `json:"type,omitempty"`
	Path        string                  `json:"path,omitempty"`
	Destination environment.Destination `json:"destination"`

	Counts    Counts        `json:"counts"`
	Resources []diff.Change `json:"resources"`
	// Env is the environment's full definition (head's, or base's when removed).
	Env environment.Environment `json:"-"`
	// Head is what the head renders, for checks that look at whole objects
	// (secret scanning, sync); nil when the environment was not rendered.
	Head []manifest.Object `json:"-"`
	// Files are the repository files the head's render read.
	Files      []string      `json:"-"`
	RenderTime time.Duration `json:"-"`
}

// Result is the preview of one change: every environment at base and head.
type Result struct {
	Base         string              `json:"base"`
	Head         string              `json:"head"`
	ChangedFiles []string            `json:"changedFiles"`
	Environments []EnvironmentResult `json:"environments"`
	// Skipped lists files discovery could not use, with the reason.
	Skipped  []string      `json:"skipped,omitempty"`
	Duration time.Duration `json:"-"`
}
