package job

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-gitops/ferry/internal/diff"
	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/normalize"
	"github.com/ferry-gitops/ferry/internal/preview"
	"github.com/ferry-gitops/ferry/internal/report"
	"github.com/ferry-gitops/ferry/internal/syncer"
	"github.com/ferry-gitops/ferry/internal/work"
)

// liveSection diffs each environment the pull request changes against its
// cluster: what a sync would change now, drift included. The pull request
// only decides what would be applied. Where and what is read comes from
// the default branch: an environment's destination and sync options from
// its definition there, and only objects ferry tracks for it (its tracking
// id, found by its label or in its inventory) are read. Anything else the
// head names is shown as a sync would create it, from the render alone.
// The fields the definition's ignoreDifferences name are left out.
func (p *Previews) liveSection(ctx context.Context, pr work.Preview, snap *snapshot) string {
	branch := defaultBranch(pr.Repo, pr.BaseRef)
	defs := make(map[string]environment.Environment, len(snap.defined.Environments))
	for _, e := range snap.defined.Environments {
		defs[e.Name] = e
	}
	live := &preview.Result{Base: "live cluster", Head: snap.res.Head}
	var notes []report.LiveNote
	for _, e := range snap.res.Environments {
		if e.Head == nil || e.Env.External {
			continue
		}
		def, ok := defs[e.Name]
		if !ok {
			notes = append(notes, report.LiveNote{Environment: e.Name, Undefined: true})
			continue
		}
		if def.External {
			continue
		}
		r, read := p.liveEnvironment(ctx, pr.Repo, snap, e, def)
		if read.untracked > 0 || read.refused > 0 {
			notes = append(notes, report.LiveNote{Environment: e.Name, Untracked: read.untracked, Refused: read.refused})
		}
		live.Environments = append(live.Environments, r)
	}
	return report.LiveSection(report.Live{Result: live, Branch: branch, Notes: notes})
}

// unread counts the head's objects a live diff did not read: those ferry
// does not track, and those outside the environment's project.
type unread struct{ untracked, refused int }

// liveEnvironment diffs one environment's head render against what ferry
// tracks for it, and counts the head's objects it did not read.
func (p *Previews) liveEnvironment(ctx context.Context, repo work.Repo, snap *snapshot, e preview.EnvironmentResult, def environment.Environment) (preview.EnvironmentResult, unread) {
	r := preview.EnvironmentResult{Name: e.Name, Type: def.Type, Path: def.Path, Destination: def.Destination, Touched: true, Status: preview.Unchanged, Resources: []diff.Change{}}
	fail := func(msg string) (preview.EnvironmentResult, unread) {
		r.Status, r.Error = preview.Error, msg
		return r, unread{}
	}
	if p.Clusters == nil {
		return fail("no cluster configured")
	}
	b := p.Projects.bind(repo, snap.defined, def)
	if err := b.admits(repo); err != nil {
		return fail("not read: " + err.Error())
	}
	kc, err := p.Clusters(def.Destination)
	if err != nil {
		return fail(err.Error())
	}
	inv, _, err := p.DB.Inventory(ctx, repo.FullName, def.Name)
	if err != nil {
		return fail(err.Error())
	}
	sopts := syncer.OptionsFor(repo.FullName, def)
	sopts.Permit = b.permit
	los, err := syncer.New(kc).DryRun(ctx, e.Head, inv, sopts)
	if err != nil {
		return fail(err.Error())
	}
	if err := syncer.IgnoreDifferences(ctx, los, normalize.New(def.IgnoreDifferences)); err != nil {
		return fail(err.Error())
	}
	opts := diff.Options{Context: 3, IgnoreLabels: snap.cfg.Diff.IgnoreLabels, IgnoreAnnotations: snap.cfg.Diff.IgnoreAnnotations, From: "live", To: "head", Mask: p.Mask}
	return r, liveDiff(&r, los, opts)
}

// liveDiff fills r with the diff of what a sync would change, each side
// masked by opts.Mask, and counts the objects it did not read.
func liveDiff(r *preview.EnvironmentResult, los []syncer.LiveObject, opts diff.Options) unread {
	var have, want []manifest.Object
	var failed []string
	var n unread
	for _, lo := range los {
		if errors.Is(lo.Err, syncer.ErrNotPermitted) {
			n.refused++
			continue
		}
		if lo.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", lo.Key, lo.Err))
			continue
		}
		if !lo.Tracked {
			n.untracked++
		}
		if lo.Live != nil {
			have = append(have, keyed(lo.Live, lo.Key))
		}
		want = append(want, keyed(lo.WouldBe, lo.Key))
	}
	for _, c := range diff.Compare(have, want, opts) {
		switch c.Change {
		case diff.Added:
			r.Counts.Added++
		case diff.Changed:
			r.Counts.Changed++
		default:
			r.Counts.Unchanged++
			continue
		}
		r.Status = preview.Changed
		r.Resources = append(r.Resources, c)
	}
	if len(failed) > 0 {
		r.Status, r.Error = preview.Error, diff.MaskWith(opts.Mask, "the API server refuses: "+strings.Join(failed, "; "))
	}
	return n
}

func keyed(obj map[string]any, k manifest.Key) manifest.Object {
	o := manifest.New(obj, "")
	o.Key = k
	return o
}
