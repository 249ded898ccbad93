package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// process is one running worker. It serves one render at a time.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *bufio.Reader
	stderr  *crashLog
	exited  chan struct{} // closed once the process has been waited for
	renders int
	// opened are the trees last sent, most recent last: the worker keeps
	// them open (treeCache).
	opened []repofs.Location
}

// hasOpen reports whether the worker keeps tree open.
func (p *process) hasOpen(tree repofs.Location) bool {
	return slices.Contains(p.opened, tree)
}

// sent notes that the worker opened tree, as its treeCache does.
func (p *process) sent(tree repofs.Location) {
	p.opened = slices.DeleteFunc(p.opened, func(l repofs.Location) bool { return l == tree })
	p.opened = append(p.opened, tree)
	if len(p.opened) > treeCacheSize {
		p.opened = p.opened[1:]
	}
}

// start launches a worker in its own process group, with an environment of
// its own: nothing of the server's (its App key, webhook secret, tokens)
// reaches the process that reads pull requests.
func start(command []string, memory int64, extraEnv []string) (*process, error) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = []string{
		workerEnv + "=1",
		memoryEnv + "=" + strconv.FormatInt(memory, 10),
		"PATH=" + os.Getenv("PATH"), // git
		"LANG=C",
		"MALLOC_ARENA_MAX=2", // glibc's per-thread arenas would spend the address-space cap on reservations
		// Renders are short and the memory limit bounds the heap: collect
		// less often than the default.
		"GOGC=400",
	}
	if d := os.Getenv("GOCOVERDIR"); d != "" {
		cmd.Env = append(cmd.Env, "GOCOVERDIR="+d)
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, stderr: &crashLog{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdout = bufio.NewReaderSize(stdout, 256<<10)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start render worker: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// errKilled marks a worker ferry stopped (timeout, cancellation).
var errKilled = errors.New("render worker killed")

// call sends one request and waits for the answer, the process's death, or
// the deadline, whichever comes first. The worker is killed unless it
// answered.
func (p *process) call(ctx context.Context, req request, timeout time.Duration, maxFrame int64) (*response, error) {
	p.renders++
	p.sent(req.Tree)
	type answer struct {
		resp *response
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		if err := writeFrame(p.stdin, req); err != nil {
			done <- answer{err: fmt.Errorf("send request: %w", err)}
			return
		}
		var resp response
		err := readFrame(p.stdout, maxFrame, &resp)
		done <- answer{&resp, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-done:
		if a.err != nil {
			p.kill()
			return nil, a.err
		}
		return a.resp, nil
	case <-timer.C:
		p.kill()
		return nil, &stopped{reason: "it ran longer than " + timeout.String()}
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("%w: %w", errKilled, ctx.Err())
	}
}

// kill ends the worker and everything it started (git), and waits for it.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// close asks an idle worker to exit.
func (p *process) close() {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		p.kill()
	}
}

// died says why a worker that stopped answering is gone, in words for the
// pull request: which limit it ran into, or how it ended.
func (p *process) died(memory int64, cpu time.Duration) error {
	<-p.exited
	state := p.cmd.ProcessState
	out := p.stderr.String()
	switch {
	case state.ExitCode() == exitMemory || strings.Contains(out, "out of memory"):
		return &stopped{reason: "it used more than " + formatSize(memory) + " of memory"}
	case state.ExitCode() == exitCPU:
		return &stopped{reason: "it used more than " + cpu.String() + " of CPU time"}
	case strings.Contains(out, "stack overflow") || strings.Contains(out, "goroutine stack exceeds"):
		return &stopped{reason: "it recursed too deeply (stack overflow: templates or Jsonnet)"}
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &stopped{reason: "its process was killed by " + ws.Signal().String()}
	}
	return &stopped{reason: fmt.Sprintf("its process crashed (exit status %d)", state.ExitCode())}
}

// crashLog reads a worker's stderr for the Go runtime's own account of a
// fatal error ("fatal error: runtime: out of memory", "goroutine stack
// exceeds"). Nothing else of it is kept, shown or logged: a panic message
// could quote the repository's content.
type crashLog struct {
	mu      sync.Mutex
	partial []byte
	fatal   []string
}

// maxLine bounds the partial line kept between writes.
const maxLine = 1 << 10

func (c *crashLog) Write(b []byte) (int, error) {
	n := len(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.partial = append(c.partial, b[:min(len(b), maxLine-len(c.partial))]...)
			break
		}
		line := append(c.partial, b[:min(i, maxLine)]...)
		c.partial = c.partial[:0]
		b = b[i+1:]
		if s := string(line); len(c.fatal) < 4 && (strings.HasPrefix(s, "fatal error: ") || strings.HasPrefix(s, "runtime: ")) {
			c.fatal = append(c.fatal, s)
		}
	}
	return n, nil
}

// String returns the runtime's fatal lines.
func (c *crashLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.fatal, "\n")
}
