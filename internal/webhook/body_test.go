package webhook

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/store"
)

// rawDelivery is a signed pull_request delivery written by hand, so a test
// can lie about its length or framing.
type rawDelivery struct {
	delivery string
	body     []byte
	// length is the Content-Length header; "" sends the body chunked.
	length string
	// closeWrite ends the request stream after the body.
	closeWrite bool
}

func (d rawDelivery) headers() string {
	h := "POST /webhook HTTP/1.1\r\nHost: ferry\r\nContent-Type: application/json\r\n" +
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: " + d.delivery + "\r\n" +
		"X-Hub-Signature-256: " + githubtest.Sign([]byte(secret), d.body) + "\r\n"
	if d.length == "" {
		return h + "Transfer-Encoding: chunked\r\n\r\n"
	}
	return h + "Content-Length: " + d.length + "\r\n\r\n"
}

// dial opens a connection to srv and writes d's headers.
func dial(t *testing.T, srv *httptest.Server, d rawDelivery) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.Write([]byte(d.headers())); err != nil {
		t.Fatal(err)
	}
	return conn
}

// send writes d in full and reads ferry's answer.
func send(t *testing.T, srv *httptest.Server, d rawDelivery) *http.Response {
	t.Helper()
	conn := dial(t, srv, d)
	body := d.body
	if d.length == "" {
		body = fmt.Appendf(nil, "%x\r\n%s\r\n0\r\n\r\n", len(d.body), d.body)
	}
	if _, err := conn.Write(body); err != nil {
		t.Logf("write body: %v (ferry may answer before reading it)", err)
	}
	if d.closeWrite {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp
}

func countJobs(t *testing.T, db *store.DB) int {
	t.Helper()
	jobs, err := db.Jobs(context.Background(), store.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

func TestBodyLimits(t *testing.T) {
	body := prPayload(t, "opened", 7) // about 21 KB
	length := fmt.Sprint(len(body))
	tests := []struct {
		name       string
		limits     Limits
		d          rawDelivery
		want       int
		retryAfter string
		jobs       int
	}{
		{"within every limit", Limits{}, rawDelivery{"d1", body, length, false}, http.StatusAccepted, "", 1},
		{"no Content-Length", Limits{}, rawDelivery{"d2", body, "", false}, http.StatusLengthRequired, "", 0},
		{"declared over GitHub's cap", Limits{}, rawDelivery{"d3", nil, fmt.Sprint(MaxBody + 1), false}, http.StatusRequestEntityTooLarge, "", 0},
		{"over a lower cap", Limits{MaxBody: 1000}, rawDelivery{"d4", body, length, false}, http.StatusRequestEntityTooLarge, "", 0},
		{"over the in-flight budget", Limits{InFlight: 8 << 10}, rawDelivery{"d5", body, length, false}, http.StatusServiceUnavailable, "5", 0},
		{"shorter than declared", Limits{}, rawDelivery{"d6", body, fmt.Sprint(len(body) + 100), true}, http.StatusBadRequest, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, db, _ := newServerWith(t, tt.limits)
			resp := send(t, srv, tt.d)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if n := countJobs(t, db); n != tt.jobs {
				t.Errorf("%d jobs stored, want %d", n, tt.jobs)
			}
		})
	}
}

// A body being read holds its bytes from the shared budget, and gives them
// back when it ends, however it ends.
func TestBudgetSharedAndReleased(t *testing.T) {
	// 96 KiB: a staller that sent 40 KiB holds a 64 KiB buffer (growing to
	// it from 32 KiB briefly needs all 96), leaving too little for a 21 KB
	// delivery, whose 16 KiB first buffer and 21 KB final one are held
	// together while it grows.
	srv, db, _ := newServerWith(t, Limits{InFlight: 96 << 10})
	body := prPayload(t, "opened", 7)
	delivery := func(id string) rawDelivery { return rawDelivery{id, body, fmt.Sprint(len(body)), false} }
	if resp := send(t, srv, delivery("before")); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("before the staller: status %d", resp.StatusCode)
	}
	staller := dial(t, srv, rawDelivery{"staller", nil, fmt.Sprint(1 << 20), false})
	if _, err := staller.Write(make([]byte, 40<<10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // ferry reads the 40 KiB
	resp := send(t, srv, delivery("during"))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("while the staller holds the budget: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := countJobs(t, db); n != 1 {
		t.Fatalf("%d jobs after the refused delivery, want 1", n)
	}
	staller.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp = send(t, srv, delivery("during"))
		if resp.StatusCode == http.StatusAccepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after the staller left: status %d, want 202", resp.StatusCode)
	}
	// Accepted bodies give their budget back too: many in a row all fit.
	for i := range 10 {
		if resp := send(t, srv, delivery(fmt.Sprintf("after-%d", i))); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d after: status %d", i, resp.StatusCode)
		}
	}
	if n := countJobs(t, db); n != 12 {
		t.Errorf("%d jobs, want 12", n)
	}
}

// padded is a pull_request payload of about n bytes.
func padded(t *testing.T, n int) []byte {
	body := prPayload(t, "opened", 7)
	return fmt.Appendf(nil, `{"padding":%q,%s`, strings.Repeat("x", n-len(body)), body[1:])
}

// writeEvery writes b in chunks of size, one every interval, until an error.
func writeEvery(c net.Conn, b []byte, size int, interval time.Duration) {
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := c.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
		time.Sleep(interval)
	}
}

// A peer that trickles or stalls its body is answered 408 and dropped once
// it falls behind; one that keeps the average rate is not, however long it
// takes.
func TestSlowBodiesDropped(t *testing.T) {
	limits := Limits{Grace: 300 * time.Millisecond, MinRate: 64 << 10}
	body := padded(t, 200<<10)
	tests := []struct {
		name   string
		length int
		write  func(net.Conn) // what the peer does after its headers
		want   int
		within time.Duration
		jobs   int
	}{
		{"a byte every 100 ms", 1 << 20, func(c net.Conn) { writeEvery(c, make([]byte, 1<<20), 1, 100*time.Millisecond) }, http.StatusRequestTimeout, 2 * time.Second, 0},
		{"half, then nothing", 1 << 20, func(c net.Conn) { c.Write(make([]byte, 500<<10)) }, http.StatusRequestTimeout, 2 * time.Second, 0},
		// 200 KiB at 128 KiB/s: 1.6 s, well past the 300 ms grace.
		{"steady at twice the minimum rate", len(body), func(c net.Conn) { writeEvery(c, body, 16<<10, 125*time.Millisecond) }, http.StatusAccepted, 5 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, db, _ := newServerWith(t, limits)
			conn := dial(t, srv, rawDelivery{"slow", body, fmt.Sprint(tt.length), false})
			start := time.Now()
			go tt.write(conn)
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if took := time.Since(start); took > tt.within {
				t.Errorf("answered after %v, want within %v", took, tt.within)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusRequestTimeout && !resp.Close {
				t.Errorf("connection kept open after 408")
			}
			if n := countJobs(t, db); n != tt.jobs {
				t.Errorf("%d jobs stored, want %d", n, tt.jobs)
			}
		})
	}
}
