package job

import (
	"time"

	"github.com/ferry-gitops/ferry/internal/preview"
)

// Metrics is what handlers tell /metrics (the server's metrics.Metrics).
// A nil Metrics is told nothing.
type Metrics interface {
	// Render is one environment's render time (base and head) by source
	// type.
	Render(sourceType string, d time.Duration)
	// Sync is a finished sync's result (history's results).
	Sync(result string)
	// Drift is a drift event and what was done about it ("healed":
	// a re-apply queued; "reported": the drift issue updated).
	Drift(action string)
}

// observeRenders tells m the render time of each environment res rendered.
func observeRenders(m Metrics, res *preview.Result) {
	if m == nil || res == nil {
		return
	}
	for _, e := range res.Environments {
		if e.RenderTime > 0 {
			m.Render(string(e.Type), e.RenderTime)
		}
	}
}
