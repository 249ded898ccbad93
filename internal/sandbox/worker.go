package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/ferry-gitops/ferry/internal/render"
	"github.com/ferry-gitops/ferry/internal/repofs"
)

// The worker's environment: workerEnv switches the binary into worker mode,
// memoryEnv carries the memory cap in bytes.
const (
	workerEnv = "FERRY_SANDBOX_WORKER"
	memoryEnv = "FERRY_SANDBOX_MEMORY"
)

// Exit codes a worker uses to say why it stopped itself. The Go runtime
// exits with 2 on a fatal error (out of memory, stack overflow).
const (
	exitMemory = 71
	exitCPU    = 72
)

// maxStack bounds a goroutine's stack in a worker. Go's default (1 GB) lets
// runaway template recursion (Helm's `tpl` calling itself) eat the memory
// cap first; legitimate renders use well under a megabyte.
const maxStack = 64 << 20

// maxRequest bounds a request: a listing of some 500,000 files.
const maxRequest = 64 << 20

// treeCacheSize is how many repository trees a worker keeps open: the
// environments of one preview share two or three.
const treeCacheSize = 4

// RunIfWorker turns this process into a render worker when it was started as
// one, and exits when the parent closes the pipe. It must be called first
// thing in main (and in TestMain of packages whose tests render through a
// Pool), before anything else starts.
func RunIfWorker() {
	if os.Getenv(workerEnv) != "1" {
		return
	}
	memory, _ := strconv.ParseInt(os.Getenv(memoryEnv), 10, 64)
	if err := confine(memory); err != nil {
		fmt.Fprintln(os.Stderr, "ferry render worker:", err)
		os.Exit(1)
	}
	debug.SetMaxStack(maxStack)
	render.Warm()
	err := serve(context.Background(), bufio.NewReader(os.Stdin), os.Stdout)
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(os.Stderr, "ferry render worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serve answers requests one at a time until the parent closes stdin.
func serve(ctx context.Context, in io.Reader, out io.Writer) error {
	trees := &treeCache{}
	defer trees.close()
	fetchers := &fetchers{}
	for {
		var req request
		if err := readFrame(in, maxRequest, &req); err != nil {
			return err
		}
		if err := limitCPU(req.CPUSeconds); err != nil {
			return err
		}
		resp := renderOne(ctx, trees, fetchers, req)
		resp.RSS = residentBytes()
		if err := writeFrame(out, resp); err != nil {
			return fmt.Errorf("write result: %w", err)
		}
	}
}

func renderOne(ctx context.Context, trees *treeCache, fetchers *fetchers, req request) *response {
	tree, err := trees.open(ctx, req.Tree, req.Listing)
	if req.OpenOnly {
		return &response{}
	}
	if err != nil {
		return encodeResult(nil, &render.Error{Env: req.Env.Name, Err: fmt.Errorf("open the repository: %w", err)})
	}
	if req.Options.Remote, err = fetchers.get(req.Fetch); err != nil {
		return encodeResult(nil, &render.Error{Env: req.Env.Name, Err: err})
	}
	return encodeResult(render.Render(ctx, tree, req.Env, req.Options))
}

// treeCache keeps the most recently used trees open (and their git
// processes running) across requests.
type treeCache struct {
	locs  []repofs.Location
	trees []*repofs.Tree
}

func (c *treeCache) open(ctx context.Context, loc repofs.Location, listing repofs.Listing) (*repofs.Tree, error) {
	for i, l := range c.locs {
		if l == loc {
			t := c.trees[i]
			c.remove(i)
			c.locs, c.trees = append(c.locs, loc), append(c.trees, t)
			return t, nil
		}
	}
	t, err := openTree(ctx, loc, listing)
	if err != nil {
		return nil, err
	}
	if len(c.trees) == treeCacheSize {
		c.trees[0].Close()
		c.remove(0)
	}
	c.locs, c.trees = append(c.locs, loc), append(c.trees, t)
	return t, nil
}

// openTree opens a tree from its listing when the pool sent one.
func openTree(ctx context.Context, loc repofs.Location, listing repofs.Listing) (*repofs.Tree, error) {
	if len(listing) == 0 || loc.GitDir == "" {
		return repofs.Open(ctx, loc)
	}
	t, err := repofs.OpenListed(loc.GitDir, loc.Revision, listing)
	if err != nil {
		return nil, err
	}
	if loc.MaxFileSize != 0 {
		t.MaxFileSize = loc.MaxFileSize
	}
	return t, nil
}

func (c *treeCache) remove(i int) {
	c.locs = append(c.locs[:i], c.locs[i+1:]...)
	c.trees = append(c.trees[:i], c.trees[i+1:]...)
}

func (c *treeCache) close() {
	for _, t := range c.trees {
		t.Close()
	}
}
