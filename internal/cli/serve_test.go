package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `ferry serve` has no setup routes: the manifest flow is `ferry setup`'s
// alone, so nobody can replace a running server's App through it.
func TestServeHasNoSetupRoutes(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--listen", addr, "--app-id", "1", "--private-key-file", keyFile,
			"--webhook-secret", "s", "--data-dir", filepath.Join(dir, "data"), "--github-api-url", "http://127.0.0.1:1/"},
			strings.NewReader(""), io.Discard, io.Discard)
	}()
	defer func() { cancel(); <-done }()
	status := func(path string) int {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(30 * time.Second); status("/healthz") != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("ferry serve did not come up")
		}
	}
	for _, path := range []string{"/setup", "/setup/callback?code=the-code&state=x"} {
		if code := status(path); code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, code)
		}
	}
}

func TestSetupRefusesWhenAnAppIsStored(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "github-app.json")
	os.WriteFile(creds, []byte(`{"id": 1, "pem": "k", "webhook_secret": "s"}`), 0o600)
	// Bounded: a `ferry setup` that does not refuse serves until cancelled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderrBuf strings.Builder
	code := Run(ctx, []string{"setup", "--listen", "127.0.0.1:0", "--data-dir", dir}, strings.NewReader(""), io.Discard, &stderrBuf)
	stderr := stderrBuf.String()
	if code == 0 || !strings.Contains(stderr, creds) || !strings.Contains(stderr, "remove that file") {
		t.Errorf("exit %d, stderr %q: want a refusal naming %s", code, stderr, creds)
	}
	if b, _ := os.ReadFile(creds); !strings.Contains(string(b), `"id": 1`) {
		t.Errorf("credentials changed: %s", b)
	}
}
