package report

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/preview"
)

// The JSON document is a contract with scripts and CI, so it has its own
// types rather than whatever preview's structs happen to carry.
type jsonReport struct {
	Base         string            `json:"base"`
	Head         string            `json:"head"`
	ChangedFiles []string          `json:"changedFiles"`
	Summary      jsonSummary       `json:"summary"`
	Environments []jsonEnvironment `json:"environments"`
	Skipped      []string          `json:"skipped,omitempty"`
}

type jsonSummary struct {
	Environments        int `json:"environments"`
	ChangedEnvironments int `json:"changedEnvironments"`
	ErrorEnvironments   int `json:"errorEnvironments"`
	Added               int `json:"added"`
	Changed             int `json:"changed"`
	Removed             int `json:"removed"`
}

type jsonEnvironment struct {
	Name        string                  `json:"name"`
	Status      preview.Status          `json:"status"`
	Lifecycle   string                  `json:"lifecycle,omitempty"`
	Touched     bool                    `json:"touched"`
	Type        environment.SourceType  `json:"type,omitempty"`
	Path        string                  `json:"path,omitempty"`
	Destination environment.Destination `json:"destination"`
	Error       string                  `json:"error"`
	ErrorFile   string                  `json:"errorFile,omitempty"`
	ErrorLine   int                     `json:"errorLine,omitempty"`
	BaseError   string                  `json:"baseError,omitempty"`
	Counts      preview.Counts          `json:"counts"`
	// Resources lists added, changed and removed resources; unchanged
	// ones are only counted.
	Resources []jsonResource `json:"resources"`
}

type jsonResource struct {
	Group      string           `json:"group"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace"`
	Name       string           `json:"name"`
	Change     diff.ChangeType  `json:"change"`
	Source     string           `json:"source,omitempty"`
	SecretKeys *diff.SecretKeys `json:"secretKeys,omitempty"`
	Diff       string           `json:"diff,omitempty"`
}

// JSON renders r as an indented document with a stable shape: lists are
// never null and fields come in a fixed order, so equal previews give
// equal bytes.
func JSON(r *preview.Result) ([]byte, error) {
	if r == nil {
		r = &preview.Result{}
	}
	t := summarize(r)
	doc := jsonReport{
		Base:         r.Base,
		Head:         r.Head,
		ChangedFiles: nonNil(r.ChangedFiles),
		Summary: jsonSummary{
			Environments:        t.envs,
			ChangedEnvironments: t.changedEnvs,
			ErrorEnvironments:   t.errorEnvs,
			Added:               t.added,
			Changed:             t.changed,
			Removed:             t.removed,
		},
		Environments: make([]jsonEnvironment, 0, len(r.Environments)),
		Skipped:      r.Skipped,
	}
	for i := range r.Environments {
		e := &r.Environments[i]
		je := jsonEnvironment{
			Name:        e.Name,
			Status:      e.Status,
			Lifecycle:   e.Lifecycle,
			Touched:     e.Touched,
			Type:        e.Type,
			Path:        e.Path,
			Destination: e.Destination,
			Error:       e.Error,
			ErrorFile:   e.ErrorFile,
			ErrorLine:   e.ErrorLine,
			BaseError:   e.BaseError,
			Counts:      e.Counts,
			Resources:   []jsonResource{},
		}
		for _, c := range shownChanges(e) {
			je.Resources = append(je.Resources, jsonResource{
				Group:      c.Group,
				Kind:       c.Kind,
				Namespace:  c.Namespace,
				Name:       c.Name,
				Change:     c.Change,
				Source:     c.Source,
				SecretKeys: c.SecretKeys,
				Diff:       c.Diff,
			})
		}
		doc.Environments = append(doc.Environments, je)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Diffs are full of < and >; keep them readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("report: encode json: %w", err)
	}
	return buf.Bytes(), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
