package cli

import (
	"context"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// openTree opens the repository at rev, or the files on disk when rev is "".
func openTree(ctx context.Context, repo, rev string) (*repofs.Tree, error) {
	if rev == "" {
		t, err := repofs.OpenDir(repo)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", repo, err)
		}
		return t, nil
	}
	t, err := repofs.OpenGit(ctx, repo, rev)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", repo, rev, err)
	}
	return t, nil
}
