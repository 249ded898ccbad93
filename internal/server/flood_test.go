package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/testrepo"
	"github.com/ferry-gitops/ferry/internal/webhook"
)

// attacker opens connections to ferry's /webhook that never complete.
type attacker struct {
	t     *testing.T
	addr  string
	alive atomic.Int64 // connections still open from our side
	wg    sync.WaitGroup
	stop  chan struct{}
}

func newAttacker(t *testing.T, url string) *attacker {
	a := &attacker{t: t, addr: strings.TrimPrefix(url, "http://"), stop: make(chan struct{})}
	t.Cleanup(func() { close(a.stop); a.wg.Wait() })
	return a
}

// open dials ferry and sends the headers of a delivery declaring length
// bytes, with a signature that would never match.
func (a *attacker) open(length int) net.Conn {
	a.t.Helper()
	conn, err := net.Dial("tcp", a.addr)
	if err != nil {
		a.t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: flood\r\nX-Hub-Signature-256: sha256=%064d\r\n"+
		"Content-Length: %d\r\n\r\n", 0, length)
	return conn
}

// trickle sends a byte every interval until ferry drops the connection or
// the test ends.
func (a *attacker) trickle(length int, interval time.Duration) {
	conn := a.open(length)
	a.alive.Add(1)
	a.wg.Go(func() {
		defer conn.Close()
		defer a.alive.Add(-1)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte{'{'}); err != nil {
					return
				}
			}
		}
	})
}

// stall sends all but the last byte of a length-byte body as fast as
// ferry takes it, then waits; it reports whether ferry is holding the body
// (true) or refused it (false).
func (a *attacker) stall(length int, zeros []byte) bool {
	conn := a.open(length)
	for left := length - 1; left > 0; {
		n, err := conn.Write(zeros[:min(left, len(zeros))])
		if err != nil {
			conn.Close()
			return false
		}
		left -= n
	}
	// Writes can land in socket buffers after ferry has refused the body;
	// a held body gets no answer.
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		conn.Close()
		return false
	}
	conn.SetReadDeadline(time.Time{})
	a.wg.Go(func() {
		<-a.stop
		conn.Close()
	})
	return true
}

// memPeak samples the Go heap and the process's RSS until stopped. Both
// cover the whole test process: ferry, the fake GitHub, the git server and
// the attacking clients.
type memPeak struct {
	heapInuse, sys, rss uint64
	done                chan struct{}
	once                sync.Once
	wg                  sync.WaitGroup
}

func sampleMemory(every time.Duration) *memPeak {
	p := &memPeak{done: make(chan struct{})}
	p.wg.Go(func() {
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			p.heapInuse, p.sys = max(p.heapInuse, m.HeapInuse), max(p.sys, m.Sys)
			p.rss = max(p.rss, rssBytes())
			select {
			case <-p.done:
				return
			case <-time.After(every):
			}
		}
	})
	return p
}

func (p *memPeak) finish() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}

// rssBytes is the process's resident set (Linux; 0 elsewhere).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

const mib = 1 << 20

// TestWebhookFlood: 200 connections trickle bodies (a quarter declaring
// 24 MiB) and 20 more send 24 MiB bodies as fast as ferry takes them and
// then stall. Ferry's own timeouts are set out of reach (a minute), so only
// the in-flight budget protects it. A real signed delivery must still be
// accepted in under a second, its job must run, and the process must not
// grow by more than 200 MB.
func TestWebhookFlood(t *testing.T) {
	h := newHarnessWith(t, testrepo.Build(t), func(c *Config) { c.HTTP.Webhook.Grace = time.Minute })
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssBytes()
	peak := sampleMemory(20 * time.Millisecond)
	defer peak.finish()

	a := newAttacker(t, h.url)
	for i := range 200 {
		length := 21_000
		if i%4 == 0 {
			length = 24 * mib
		}
		a.trickle(length, 500*time.Millisecond)
	}
	zeros := make([]byte, 64<<10)
	var held atomic.Int64
	var stallers sync.WaitGroup
	for range 20 {
		stallers.Go(func() {
			if a.stall(24*mib, zeros) {
				held.Add(1)
			}
		})
	}
	stallers.Wait()

	start := time.Now()
	code := h.deliver("pull_request", "opened", pr, "real-delivery")
	latency := time.Since(start)
	if code != http.StatusAccepted || latency > time.Second {
		t.Errorf("real delivery under attack: status %d after %v, want 202 in under 1 s", code, latency)
	}
	if n := a.alive.Load(); n < 190 {
		t.Errorf("only %d of 200 trickling connections were open when the delivery came: not a flood", n)
	}
	// The in-flight budget holds only so many 24 MiB bodies.
	if n, most := held.Load(), webhook.DefaultLimits().InFlight/(24*mib); n > most {
		t.Errorf("ferry holds %d stalled 24 MiB bodies, want at most %d", n, most)
	}
	h.waitFor("the real delivery's check run", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
	peak.finish()
	heapGrowth := int64(peak.heapInuse) - int64(before.HeapInuse)
	t.Logf("accepted in %v; ferry holds %d stalled bodies, %d trickling connections open; "+
		"peak HeapInuse %d MiB (+%d MiB), peak Sys %d MiB (+%d MiB), peak RSS %d MiB (+%d MiB)",
		latency, held.Load(), a.alive.Load(), peak.heapInuse/mib, heapGrowth/mib,
		peak.sys/mib, (int64(peak.sys)-int64(before.Sys))/mib, peak.rss/mib, (int64(peak.rss)-int64(rssBefore))/mib)
	if heapGrowth > 200*mib {
		t.Errorf("heap grew by %d MiB under the flood, want at most 200", heapGrowth/mib)
	}
}

// TestSlowPeersAreDropped: with short timeouts, each way of holding a
// connection open is cut off, and an ordinary delivery still gets through.
func TestSlowPeersAreDropped(t *testing.T) {
	const limit = 300 * time.Millisecond
	h := newHarnessWith(t, testrepo.Build(t), func(c *Config) {
		c.HTTP.ReadHeaderTimeout, c.HTTP.IdleTimeout, c.HTTP.Webhook.Grace = limit, limit, limit
	})
	a := newAttacker(t, h.url)
	zeros := make([]byte, mib)
	tests := []struct {
		name   string
		dial   func() net.Conn
		answer string // the start of ferry's answer
	}{
		{"headers a byte at a time", func() net.Conn {
			conn, err := net.Dial("tcp", a.addr)
			if err != nil {
				t.Fatal(err)
			}
			go writeSlowly(conn, []byte("POST /webhook HTTP/1.1\r\nHost: ferry\r\nX-Padding: "+strings.Repeat("x", 100)))
			return conn
		}, "HTTP/1.1 400"}, // net/http's answer to a request cut off mid-line
		{"a 24 MiB body a byte at a time", func() net.Conn {
			conn := a.open(24 * mib)
			go writeSlowly(conn, make([]byte, 100))
			return conn
		}, "HTTP/1.1 408"},
		{"a 24 MiB body stalled after 1 MiB", func() net.Conn {
			conn := a.open(24 * mib)
			go conn.Write(zeros)
			return conn
		}, "HTTP/1.1 408"},
		{"an idle keep-alive connection", func() net.Conn {
			conn := a.open(0) // an empty body: answered 401, then kept alive
			return conn
		}, "HTTP/1.1 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			conn := tt.dial()
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(bufio.NewReader(conn))
			took := time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("connection still open after %v", took)
			}
			if took > 2*time.Second {
				t.Errorf("closed after %v, want about %v", took, limit)
			}
			if !bytes.HasPrefix(got, []byte(tt.answer)) {
				t.Errorf("answer %.60q, want it to start with %q", got, tt.answer)
			}
		})
	}
	pr := h.openPR(1, testrepo.Branch("image-bump-production"))
	if code := h.deliver("pull_request", "opened", pr, "ordinary"); code != http.StatusAccepted {
		t.Errorf("ordinary delivery: status %d", code)
	}
}

// writeSlowly writes b a byte every 100 ms until an error.
func writeSlowly(conn net.Conn, b []byte) {
	for i := range b {
		if _, err := conn.Write(b[i : i+1]); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
