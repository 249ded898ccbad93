// Package sandbox renders untrusted repositories in child processes. A Pool
// keeps a few workers (this binary, re-executed in worker mode) warm and
// hands each render to one of them. A worker opens the repository at the
// revision itself (read-only, confined to the repository), renders with the
// render package, and answers with the objects and the files it read.
//
// Each worker runs under a memory cap (an address-space limit, a garbage
// collector target and a watchdog on its resident set), a CPU-time limit and
// a goroutine stack limit; the pool kills its whole process group when a
// render runs past its wall-clock time. A render that dies or runs over is
// that environment's error, in plain words ("render of prod was stopped: it
// used more than 1 GiB of memory"), and the pool remembers it: the same
// environment at the same revision is not rendered again. The server's own
// process never runs kustomize or Helm.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// Defaults for Options fields left zero.
const (
	DefaultMemory     = 1 << 30
	DefaultTimeout    = 60 * time.Second
	DefaultMaxRenders = 200
)

// Options configure a Pool.
type Options struct {
	// Memory caps each worker process (default 1 GiB).
	Memory int64
	// Timeout bounds each render, in wall-clock and in CPU time (default 60 s).
	Timeout time.Duration
	// Workers is how many renders run at once, each in its own process
	// (default GOMAXPROCS).
	Workers int
	// Render holds the limits applied inside the worker.
	Render render.Options
	// Command starts a worker (default: this executable, with no arguments;
	// the worker mode comes from the environment, see RunIfWorker).
	Command []string
	// MaxRenders retires a worker after this many renders (default 200).
	MaxRenders int
	// Fetch lets workers fetch remote charts and Kustomize bases from the
	// allowed repositories; nil refuses every remote source.
	Fetch *fetch.Config
}

func (o Options) withDefaults() (Options, error) {
	if o.Memory <= 0 {
		o.Memory = DefaultMemory
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxRenders <= 0 {
		o.MaxRenders = DefaultMaxRenders
	}
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find ferry's executable for render workers: %w", err)
		}
		o.Command = []string{exe}
	}
	// The worker's own timer is a backstop; the pool's kill comes first.
	o.Render.Limits.Timeout = o.Timeout + 10*time.Second
	return o, nil
}

// Pool runs renders in worker processes. It is safe for concurrent use.
type Pool struct {
	opts  Options
	slots chan struct{}

	mu      sync.Mutex
	idle    []*process
	closed  bool
	stopped *memo
}

// New returns a pool; workers start when first needed (or with Warm).
func New(opts Options) (*Pool, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Pool{opts: opts, slots: make(chan struct{}, opts.Workers), stopped: newMemo(1024)}, nil
}

// Warm starts n workers in the background (at most Workers are kept idle),
// so renders do not wait for a process to start and load kustomize and Helm.
func (p *Pool) Warm(n int) {
	for i := 0; i < min(n, p.opts.Workers); i++ {
		go func() {
			proc, err := start(p.opts.Command, p.opts.Memory, credentialEnv(p.opts.Fetch))
			if err == nil {
				p.put(proc)
			}
		}()
	}
}

// Open has workers open trees ahead of the renders that will need them
// (the renders of a preview go to the worker that has their tree open), in
// the background and only with workers nothing else is using.
func (p *Pool) Open(trees ...*repofs.Tree) {
	for _, t := range trees {
		select {
		case p.slots <- struct{}{}:
		default:
			return // every worker is busy: the renders open the tree themselves
		}
		req := request{Tree: t.Location(), OpenOnly: true, Listing: t.Listing()}
		go func() {
			defer func() { <-p.slots }()
			proc, err := p.get(req.Tree, true)
			if err != nil {
				return
			}
			if _, err := proc.call(context.Background(), req, p.opts.Timeout, p.maxFrame()); err != nil {
				proc.kill()
				return
			}
			p.put(proc)
		}()
	}
}

// Render renders env from tree in a worker. Errors are *render.Error; a
// render a limit stopped wraps a *StoppedError.
func (p *Pool) Render(ctx context.Context, tree *repofs.Tree, env environment.Environment) (*render.Result, error) {
	if env.External {
		return render.Render(ctx, tree, env, p.opts.Render) // refused before anything is read
	}
	req := p.request(tree, env)
	key, err := memoKey(req)
	if err != nil {
		return nil, &render.Error{Env: env.Name, Err: err}
	}
	if err := p.stopped.get(key); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &render.Error{Env: env.Name, Err: fmt.Errorf("render cancelled: %w", ctx.Err())}
	}
	defer func() { <-p.slots }()
	res, err := p.run(ctx, req, tree)
	var se *StoppedError
	if errors.As(err, &se) {
		p.stopped.put(key, err)
	}
	return res, err
}

func (p *Pool) request(tree *repofs.Tree, env environment.Environment) request {
	return request{Tree: tree.Location(), Env: env, Options: p.opts.Render, Fetch: p.opts.Fetch, CPUSeconds: int64(p.cpuTime() / time.Second)}
}

// cpuTime is the CPU time a render may use: twice its wall-clock time and a
// few seconds, since the garbage collector and the runtime work alongside on
// other threads. The wall clock, which the pool enforces, is the limit a
// render normally meets; this one holds should the pool fail to.
func (p *Pool) cpuTime() time.Duration {
	return (2*p.opts.Timeout + 5*time.Second).Truncate(time.Second)
}

// run sends req to an idle worker (or a new one) and keeps the worker for
// the next render unless it died, was killed, or has grown.
func (p *Pool) run(ctx context.Context, req request, tree *repofs.Tree) (*render.Result, error) {
	env := req.Env
	proc, err := p.get(req.Tree, false)
	if err != nil {
		return nil, &render.Error{Env: env.Name, Err: err}
	}
	if !proc.hasOpen(req.Tree) {
		req.Listing = tree.Listing()
	}
	resp, err := proc.call(ctx, req, p.opts.Timeout, p.maxFrame())
	if err != nil {
		p.Warm(1) // a warm replacement for the next render
		return nil, p.failure(proc, env, err)
	}
	if proc.renders >= p.opts.MaxRenders || resp.RSS > p.opts.Memory/2 {
		go proc.close()
		p.Warm(1)
	} else {
		p.put(proc)
	}
	return resp.result(env.Name)
}

// failure explains a render whose worker did not answer.
func (p *Pool) failure(proc *process, env environment.Environment, err error) error {
	var s *stopped
	switch {
	case errors.As(err, &s):
	case errors.Is(err, errKilled):
		return &render.Error{Env: env.Name, Err: fmt.Errorf("render cancelled: %w", err)}
	case errors.Is(err, errFrameTooLarge):
		s = &stopped{reason: "its output was larger than ferry accepts"}
	default:
		err = proc.died(p.opts.Memory, p.cpuTime())
		errors.As(err, &s)
	}
	return &render.Error{Env: env.Name, File: env.File, Err: &StoppedError{Env: env.Name, Reason: s.reason}}
}

// maxFrame bounds a worker's answer: the render's own output limit, with
// room for JSON's quoting.
func (p *Pool) maxFrame() int64 {
	out := p.opts.Render.Limits.MaxOutputBytes
	if out <= 0 {
		out = render.DefaultLimits().MaxOutputBytes
	}
	return min(2*out+1<<20, 1<<31)
}

// get returns an idle worker, preferring one that has the tree open
// already (a preview renders the base on one worker and the head on
// another, each opening its tree once) or, to open a tree, one that does
// not; or it starts one.
func (p *Pool) get(tree repofs.Location, toOpen bool) (*process, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("the render pool is closed")
	}
	if n := len(p.idle); n > 0 {
		i := n - 1
		for j, proc := range p.idle {
			if proc.hasOpen(tree) != toOpen {
				i = j
			}
		}
		proc := p.idle[i]
		p.idle = append(p.idle[:i], p.idle[i+1:]...)
		p.mu.Unlock()
		return proc, nil
	}
	p.mu.Unlock()
	return start(p.opts.Command, p.opts.Memory, credentialEnv(p.opts.Fetch))
}

func (p *Pool) put(proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-proc.exited:
		return
	default:
	}
	if p.closed || len(p.idle) >= p.opts.Workers {
		go proc.close()
		return
	}
	p.idle = append(p.idle, proc)
}

// Close stops the idle workers; renders under way finish first.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, proc := range idle {
		proc.close()
	}
	return nil
}

// StoppedError is a render ferry stopped because it ran into a limit or its
// process died.
type StoppedError struct {
	Env    string
	Reason string
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("render of %s was stopped: %s", e.Env, e.Reason)
}

// stopped is a reason for StoppedError on its way out of a process.
type stopped struct{ reason string }

func (s *stopped) Error() string { return s.reason }

func formatSize(n int64) string { return render.FormatSize(n) }
