package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/kustomization"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Remote Kustomize bases and components: a reference kustomize would clone
// (https://host/org/repo//dir?ref=v1, github.com/org/repo, git::…) is
// fetched by the render's Remote, at one commit, and its tree is mounted
// in the reader under remoteDir; the referencing kustomization is handed
// to kustomize with the entry rewritten to the mounted directory, so
// kustomize never clones anything itself. A mount is a tree of its own:
// paths and symlinks in it stay inside it, as kustomize keeps a cloned
// base inside its clone, and its files are read with the render's limits
// but are not repository files (Result.Files leaves them out).

// remoteDir is where the reader mounts fetched trees: no repository file
// may be there once something is mounted.
const remoteDir = ".ferry-remote"

// maxMounts bounds the remote trees one render fetches.
const maxMounts = 20

// mount is one fetched commit, at remoteDir/<id>.
type mount struct {
	// name is "remoteDir/<hash of the URL>@<commit>". It starts with a
	// dot, so kustomize never reads it as a repository URL.
	name   string
	url    string // the repository as fetched
	commit string
	tree   *repofs.Tree
	// repo and ref are the repository and revision as kustomize names
	// them in an origin annotation.
	repo, ref string
	// from is the repository kustomization (and the line, the entry) that
	// reaches this tree, directly or through other remote bases: errors
	// inside the tree are reported there.
	fromFile  string
	fromLine  int
	fromEntry string
}

// path is the reader's name of a path in the mount's tree (itself when m
// is nil: a repository path).
func (m *mount) path(in string) string {
	switch {
	case m == nil:
		return in
	case in == "." || in == "":
		return m.name
	}
	return m.name + "/" + in
}

// at returns the tree holding name (a clean path) and name's path in it:
// under remoteDir, once something is mounted, a mount's tree (nil when no
// mount is there); elsewhere the repository's.
func (r *reader) at(name string) (*repofs.Tree, string, *mount) {
	rest, under := strings.CutPrefix(name, remoteDir+"/")
	if !under && name != remoteDir {
		return r.tree, name, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.mounts) == 0 {
		return r.tree, name, nil
	}
	id, in, _ := strings.Cut(rest, "/")
	m := r.mounts[id]
	if !under || m == nil {
		return nil, "", nil
	}
	if in == "" {
		in = "."
	}
	return m.tree, in, m
}

// mountOf returns the mount holding name and name's path in its tree;
// nil for a repository path.
func (r *reader) mountOf(name string) (*mount, string) {
	tree, in, m := r.at(name)
	if tree == nil || m == nil {
		return nil, ""
	}
	return m, in
}

// recordLocal records the names that are repository paths.
func (r *reader) recordLocal(names ...string) {
	for _, n := range names {
		if m, _ := r.mountOf(n); m == nil {
			r.record(n)
		}
	}
}

// join joins ref to dir, keeping a path in a mount inside that mount's
// tree and a repository path out of remoteDir.
func (r *reader) join(dir, ref string) (string, error) {
	if m, in := r.mountOf(dir); m != nil {
		p, err := repofs.Join(in, ref)
		if err != nil {
			return "", ownError{fmt.Errorf("%q leaves the remote base's repository %s: %w", ref, m.url, repofs.ErrOutsideRoot)}
		}
		return m.path(p), nil
	}
	p, err := repofs.Join(dir, ref)
	if err != nil {
		return "", fmt.Errorf("%q: %w", ref, repofs.ErrOutsideRoot)
	}
	if r.mounted() && (p == remoteDir || strings.HasPrefix(p, remoteDir+"/")) {
		return "", fmt.Errorf("%q: %s is where ferry mounts remote bases, not a repository path: %w", ref, remoteDir, repofs.ErrOutsideRoot)
	}
	return p, nil
}

func (r *reader) mounted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.mounts) > 0
}

// findKust is kustomization.Find in whichever tree holds dir.
func (r *reader) findKust(dir string) []string {
	tree, in, m := r.at(dir)
	if tree == nil {
		return nil
	}
	found := kustomization.Find(tree, in)
	for i := range found {
		found[i] = m.path(found[i])
	}
	return found
}

// mount fetches the commit ref names in the repository at url and mounts
// its tree, once per render.
func (r *reader) mount(ctx context.Context, remote Remote, url, ref string) (*mount, error) {
	if r.tree.Exists(remoteDir) {
		return nil, fmt.Errorf("the repository has a %s entry, a name ferry reserves for remote bases: rename it", remoteDir)
	}
	got, err := remote.Git(ctx, url, ref)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(fetch.Normalize(got.URL)))
	id := hex.EncodeToString(sum[:6]) + "@" + got.Commit
	r.mu.Lock()
	m, n := r.mounts[id], len(r.mounts)
	r.mu.Unlock()
	switch {
	case m != nil:
		return m, nil
	case n >= maxMounts:
		return nil, fmt.Errorf("the render fetches more than %d remote trees (a limit of ferry's)", maxMounts)
	}
	tree, err := repofs.OpenGit(ctx, got.Dir, got.Commit)
	if err != nil {
		return nil, fmt.Errorf("open %s at %s: %w", got.URL, got.Commit, err)
	}
	tree.MaxFileSize = r.tree.MaxFileSize
	m = &mount{name: remoteDir + "/" + id, url: got.URL, commit: got.Commit, tree: tree}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mounts == nil {
		r.mounts = map[string]*mount{}
	}
	r.mounts[id] = m
	return m, nil
}

// closeMounts ends the processes behind the mounted trees; the mounts stay
// known, for errors.
func (r *reader) closeMounts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.mounts {
		_ = m.tree.Close()
	}
}

// remoteShaped reports whether a resources or components entry is one
// kustomize would fetch: a URL, or a repository-shaped entry (github.com/…,
// git@host:…, git::…) that is no file here.
func (c *kustRefs) remoteShaped(dir, ref string) bool {
	if kustomization.IsURL(ref) {
		return true
	}
	if !kustomization.LooksLikeRepo(ref) || path.IsAbs(ref) {
		return false
	}
	p, err := c.j.r.join(dir, ref)
	if err != nil {
		return true
	}
	real, err := c.j.r.resolve(p)
	return err != nil || c.j.r.isDir(real)
}

// remoteBase fetches and checks the remote base or component an entry of
// kf names, and has kustomize read it from its mount.
func (c *kustRefs) remoteBase(kf *kustomization.File, ref kustomization.Ref, plugin bool, depth int) error {
	line := kf.Line(ref)
	switch {
	case plugin:
		return errorf(kf.Path, line, "would fetch remote resource %q as generator, transformer or validator configuration; ferry fetches remote bases only as resources or components", ref.Value)
	case c.j.opts.Remote == nil:
		return remoteError(kf.Path, line, ref.Value)
	}
	u, err := kustomization.ParseRepoURL(ref.Value)
	if err != nil {
		return errorf(kf.Path, line, "remote base %q: %v", ref.Value, err)
	}
	sub, err := repofs.Clean(u.Dir)
	if err != nil {
		return errorf(kf.Path, line, "remote base %q: the directory %q leaves the repository", ref.Value, u.Dir)
	}
	m, err := c.j.r.mount(c.j.ctx, c.j.opts.Remote, u.Repo, u.Ref)
	if err != nil {
		return errorf(kf.Path, line, "remote base %q: %w", ref.Value, err)
	}
	if m.fromFile == "" {
		m.repo, m.ref = u.Repo, u.Ref
		m.fromFile, m.fromLine, m.fromEntry = kf.Path, line, ref.Value
		if parent, _ := c.j.r.mountOf(kf.Path); parent != nil {
			m.fromFile, m.fromLine, m.fromEntry = parent.fromFile, parent.fromLine, parent.fromEntry
		}
	}
	target := m.path(sub)
	real, err := c.j.r.resolve(target)
	switch {
	case err != nil:
		return errorf(kf.Path, line, "remote base %q: no directory %s in %s at commit %.12s: %w", ref.Value, sub, m.url, m.commit, err)
	case !c.j.r.isDir(real):
		return errorf(kf.Path, line, "remote base %q: %s is a file in %s, not a kustomization directory (ferry does not download single files)", ref.Value, sub, m.url)
	}
	c.rewrite(kf, ref.Value, relPath(kf.Dir, target))
	_, err = c.visit(real, plugin, depth+1)
	return err
}

// relPath is the path from the directory from to to, both clean paths of
// the reader.
func relPath(from, to string) string {
	if from == "." || from == "" {
		return to
	}
	return strings.Repeat("../", strings.Count(from, "/")+1) + to
}

// rewrite has kustomize read entry of kf as local.
func (c *kustRefs) rewrite(kf *kustomization.File, entry, local string) {
	if c.rewrites == nil {
		c.rewrites = map[string]map[string]string{}
		c.rewritten = map[string]*kustomization.File{}
	}
	if c.rewrites[kf.Path] == nil {
		c.rewrites[kf.Path] = map[string]string{}
	}
	c.rewrites[kf.Path][entry] = local
	c.rewritten[kf.Path] = kf
}

// overrideRewritten hands kustomize every kustomization but root (whose
// override kustomizeOverride makes) with its remote entries rewritten.
func (c *kustRefs) overrideRewritten(root string) error {
	for p, kf := range c.rewritten {
		if p == root {
			continue
		}
		k := kf.Kustomization()
		rewriteEntries(&k, c.rewrites[p])
		data, err := sigsyaml.Marshal(k)
		if err != nil {
			return &Error{File: p, Err: err}
		}
		c.j.r.override(p, data)
	}
	return nil
}

// rewriteEntries replaces the resources and components entries in
// rewrites, on copies of the slices.
func rewriteEntries(k *types.Kustomization, rewrites map[string]string) {
	if len(rewrites) == 0 {
		return
	}
	k.Resources, k.Components = slices.Clone(k.Resources), slices.Clone(k.Components)
	for _, list := range [][]string{k.Resources, k.Components} {
		for i, e := range list {
			if local, ok := rewrites[e]; ok {
				list[i] = local
			}
		}
	}
}

// remoteError refuses a remote base or component when the render fetches
// nothing.
func remoteError(file string, line int, ref string) error {
	return errorf(file, line, "would fetch remote resource %q; ferry does not fetch remote bases unless their repository is allowed: "+
		"add it under `repositories:` in the server configuration (the file given to --config)", ref)
}

// remoteFileError refuses a remote reference kustomize would download as a
// file, which ferry never does.
func remoteFileError(file string, line int, ref string) error {
	return errorf(file, line, "would fetch remote resource %q; ferry fetches only remote bases and components (Git repositories), not files", ref)
}

// mountedRE matches a mount's path in kustomize's messages, with the
// "../" that lead there from a kustomization.
var mountedRE = regexp.MustCompile(`(?:\.\./)*` + regexp.QuoteMeta(remoteDir) + `/([0-9a-f]+@[0-9a-f]+)/?`)

// unmountMessage names mounted files by their repository URL.
func (r *reader) unmountMessage(msg string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return mountedRE.ReplaceAllStringFunc(msg, func(s string) string {
		m := r.mounts[mountedRE.FindStringSubmatch(s)[1]]
		if m == nil {
			return s
		}
		return m.url + "//"
	})
}

// remoteErr moves an error located in a mounted tree to the repository
// kustomization that reaches it, naming the remote file.
func (j *job) remoteErr(err error) error {
	var re *Error
	if !errors.As(err, &re) {
		return err
	}
	m, in := j.r.mountOf(re.File)
	if m == nil {
		return err
	}
	reduced := reduceError(re).(*Error)
	where := in
	if re.Line > 0 {
		where = fmt.Sprintf("%s:%d", in, re.Line)
	}
	return errorf(m.fromFile, m.fromLine, "remote base %q: %s at commit %.12s: %s: %w", m.fromEntry, m.url, m.commit, where, reduced.Err)
}

// remoteSource is the repository file an object from p is attributed to:
// p, or for a file of a mounted tree the kustomization that reaches it.
func (j *job) remoteSource(p string) string {
	if m, _ := j.r.mountOf(p); m != nil {
		return m.fromFile
	}
	return p
}

// remoteOrigin rewrites an origin annotation that points into a mounted
// tree (a path relative to dir, the root kustomization's directory) to
// what kustomize writes for a cloned base: the repository, the revision
// and the path in the repository.
func (j *job) remoteOrigin(dir string, o *resource.Origin) *resource.Origin {
	if o == nil || o.Repo != "" {
		return o
	}
	out, changed := *o, false
	for _, p := range []*string{&out.Path, &out.ConfiguredIn} {
		if *p == "" {
			continue
		}
		joined, err := repofs.Join(dir, *p)
		if err != nil {
			continue
		}
		if m, in := j.r.mountOf(joined); m != nil {
			out.Repo, out.Ref, *p, changed = m.repo, m.ref, in, true
		}
	}
	if !changed {
		return o
	}
	return &out
}
