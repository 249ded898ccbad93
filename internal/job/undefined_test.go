package job

import (
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/queue"
)

// TestUndefinedRetriesWhileAParentIsUnrendered: a sync of an environment the
// default branch does not define is dropped, unless an app-of-apps parent
// failed to render (it may be that parent's child): then it is tried again.
func TestUndefinedRetriesWhileAParentIsUnrendered(t *testing.T) {
	tests := []struct {
		name      string
		parents   []string
		permanent bool
		mention   string
	}{
		{name: "nothing failed", permanent: true, mention: `"web" is not defined on the default branch main`},
		{name: "a parent failed", parents: []string{"root"}, mention: "the render of root, which may define it, failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &registry{branch: "main", found: &environment.Discovery{UnrenderedParents: tt.parents}}
			err := undefined(reg, "web")
			if got := queue.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not say %q", err, tt.mention)
			}
		})
	}
}
