package job

import (
	"context"
	"fmt"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// Handler handles one kind of job.
type Handler interface {
	Handle(ctx context.Context, j queue.Job) error
}

// Router sends each job to the handler for its kind.
type Router map[string]Handler

// Handle implements queue.Handler.
func (r Router) Handle(ctx context.Context, j queue.Job) error {
	h, ok := r[j.Kind]
	if !ok {
		return queue.Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	}
	return h.Handle(ctx, j)
}
