package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/sandbox"
)

// renderLimits are the flags that bound a render: every command that
// renders does so in worker processes under these limits.
type renderLimits struct {
	memory  string
	timeout time.Duration
	workers int
	// config is a server configuration file: its repositories are what
	// renders may fetch from.
	config string
}

func (l *renderLimits) addFlags(f *pflag.FlagSet) {
	f.StringVar(&l.memory, "render-memory", "1Gi", "memory cap of each render's worker process, as a Kubernetes quantity (FERRY_RENDER_MEMORY)")
	f.DurationVar(&l.timeout, "render-timeout", sandbox.DefaultTimeout, "wall-clock and CPU time one environment's render may take (FERRY_RENDER_TIMEOUT)")
	f.IntVar(&l.workers, "render-workers", 0, "renders at once, each in its own process (default: the number of CPUs) (FERRY_RENDER_WORKERS)")
}

// addConfigFlag is --config for one-shot commands (`ferry serve` reads the
// same file with its own flag).
func (l *renderLimits) addConfigFlag(f *pflag.FlagSet) {
	f.StringVar(&l.config, "config", "", "server configuration file (as for `ferry serve`): its repositories are the Helm repositories, OCI registries and Git repositories renders may fetch from (FERRY_CONFIG)")
}

// options turns the flags into a pool's options.
func (l *renderLimits) options() (sandbox.Options, error) {
	q, err := resource.ParseQuantity(l.memory)
	if err != nil || q.Value() < 64<<20 {
		return sandbox.Options{}, fmt.Errorf("--render-memory %q: want a quantity of at least 64Mi, such as 1Gi or 512Mi", l.memory)
	}
	opts := sandbox.Options{
		Memory:  q.Value(),
		Timeout: l.timeout,
		Workers: l.workers,
		Render:  render.Options{Limits: render.DefaultLimits()},
	}
	settings, err := loadSettings(l.config)
	if err != nil {
		return sandbox.Options{}, err
	}
	opts.Fetch = settings.Fetch(fetchCache()) // nil without --config
	return opts, nil
}

// fetchCache is where one-shot commands keep fetched charts and Git trees
// between runs ("" keeps nothing when there is no cache directory).
func fetchCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ferry", "fetch")
}

// pool starts a render pool for a one-shot command, warming the workers it
// will use while the command reads the repository.
func (l *renderLimits) pool(warm int) (*sandbox.Pool, error) {
	opts, err := l.options()
	if err != nil {
		return nil, err
	}
	p, err := sandbox.New(opts)
	if err != nil {
		return nil, err
	}
	p.Warm(warm)
	return p, nil
}
