package repofs

import "fmt"

// Listing is a git tree's entries as OpenGit read them, so a process that
// renders the same commit (a render worker) need not list it again:
// `git ls-tree -r -l` of a large repository costs more than the render.
type Listing []ListedEntry

// ListedEntry is one file or symlink of a Listing.
type ListedEntry struct {
	Path    string `json:"p"`
	Symlink bool   `json:"l,omitempty"`
	Size    int64  `json:"s"`
	ID      string `json:"i"`
}

// Listing returns the tree's files and symlinks, or nil for a tree that is
// not read from git.
func (t *Tree) Listing() Listing {
	if _, ok := t.src.(*gitSource); !ok {
		return nil
	}
	out := make(Listing, 0, len(t.entries))
	for name, e := range t.entries {
		if e.kind == kindDir {
			continue
		}
		out = append(out, ListedEntry{Path: name, Symlink: e.kind == kindSymlink, Size: e.size, ID: e.id})
	}
	return out
}

// OpenListed opens the tree of commit in gitDir from a Listing its caller
// took from the same commit. Contents are read from git as with OpenGit;
// paths are checked as OpenGit's are.
func OpenListed(gitDir, commit string, l Listing) (*Tree, error) {
	if !commitID.MatchString(commit) {
		return nil, fmt.Errorf("a listed tree needs a commit id, not %q", commit)
	}
	entries := make(map[string]entry, len(l))
	for _, e := range l {
		name, err := Clean(e.Path)
		if err != nil || name == "." || !objectID.MatchString(e.ID) {
			return nil, fmt.Errorf("listing of %s: bad entry %q", commit, e.Path)
		}
		kind := kindFile
		if e.Symlink {
			kind = kindSymlink
		}
		entries[name] = entry{kind: kind, size: e.Size, id: e.ID}
	}
	return newTree(commit, entries, &gitSource{dir: gitDir}), nil
}
