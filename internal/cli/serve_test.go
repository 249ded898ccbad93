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

	"github.com/ferry-gitops/ferry/internal/server"
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

// A --config file that does not load stops `ferry serve` with one line
// naming the file and line; a --cluster flag that contradicts the file
// does too.
func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("projects:\n  - name: p\n    syncWindows: [{kind: deny, schedule: nope, duration: 1h}]\n"), 0o600)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("clusters:\n  - name: prod\n    sever: https://prod\n"), 0o600)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("clusters:\n  - {name: prod, server: https://prod.example.com, context: prod}\n"), 0o600)
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"bad window", []string{"--config", bad}, `syncWindows[0]: schedule "nope"`},
		{"typo", []string{"--config", typo}, "typo.yaml:3"},
		{"missing", []string{"--config", filepath.Join(dir, "none.yaml")}, "no such file"},
		{"contradicting --cluster", []string{"--config", good, "--cluster", "prod=other"}, `--cluster maps it to context "other", the --config file to "prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--app-id", "1", "--private-key-file", keyFile,
				"--webhook-secret", "s", "--data-dir", filepath.Join(dir, "data-"+strings.ReplaceAll(tt.name, " ", "-"))}, tt.extra...)
			if code := Run(context.Background(), args, strings.NewReader(""), io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want a failure saying %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestPodNamespace(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, file, want string
	}{
		{"in a pod", write("namespace", "ferry-system\n"), "ferry-system"},
		{"outside a cluster", filepath.Join(dir, "none"), ""},
		{"empty file", write("empty", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podNamespace(tt.file); got != tt.want {
				t.Errorf("podNamespace(%s) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	good := filepath.Join(t.TempDir(), "ferry.yaml")
	if err := os.WriteFile(good, []byte("projects:\n  - name: payments\n    repos: [acme/payments-*]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, namespace string
		wantProjects          int
		wantErr               string
	}{
		{name: "no file", namespace: "ferry"},
		{name: "a file", file: good, namespace: "ferry", wantProjects: 1},
		{name: "a missing file", file: good + ".missing", namespace: "ferry", wantErr: "--config: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg server.Config
			err := settings(&cfg, tt.file, tt.namespace)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Namespace != tt.namespace || (cfg.Settings == nil) != (tt.file == "") ||
				(cfg.Settings != nil && len(cfg.Settings.Projects) != tt.wantProjects) {
				t.Errorf("config: namespace %q, settings %+v", cfg.Namespace, cfg.Settings)
			}
		})
	}
}
