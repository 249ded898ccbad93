package repofs

import (
	"context"
	"errors"
)

// Location says where a tree was read from, so that another process (a
// render worker) can open the same tree itself.
type Location struct {
	// GitDir and Revision name a commit's tree in a repository...
	GitDir   string `json:"gitDir,omitempty"`
	Revision string `json:"revision,omitempty"`
	// ...or Dir a working directory.
	Dir         string `json:"dir,omitempty"`
	MaxFileSize int64  `json:"maxFileSize,omitempty"`
}

// Location returns where t was read from.
func (t *Tree) Location() Location {
	loc := Location{Revision: t.Revision, MaxFileSize: t.MaxFileSize}
	switch src := t.src.(type) {
	case *gitSource:
		loc.GitDir = src.dir
	case *diskSource:
		loc.Dir = src.root
	}
	return loc
}

// Open reads the tree a Location names.
func Open(ctx context.Context, loc Location) (*Tree, error) {
	var t *Tree
	var err error
	switch {
	case loc.GitDir != "" && loc.Revision != "":
		t, err = OpenGit(ctx, loc.GitDir, loc.Revision)
	case loc.Dir != "":
		t, err = OpenDir(loc.Dir)
	default:
		return nil, errors.New("a tree location names neither a git revision nor a directory")
	}
	if err != nil {
		return nil, err
	}
	if loc.MaxFileSize != 0 {
		t.MaxFileSize = loc.MaxFileSize
	}
	return t, nil
}
