// Package clustertest is test support: it runs a real Kubernetes control
// plane (etcd and kube-apiserver, started by controller-runtime's envtest)
// for tests that need an API server's own behaviour: server-side apply,
// managedFields, subresources, admission, validation. It is only for tests.
//
// The binaries are ferry's own, built from the Go module proxy by
// `make testenv` (bash hack/testenv/build.sh) into a per-user cache shared by
// every clone, $XDG_CACHE_HOME/ferry/testenv-v1.37.2 (~/.cache/...),
// or into the directory that FERRY_TESTENV_DIR names. Nothing is downloaded
// at test time, and no cluster the environment points at (KUBEBUILDER_ASSETS,
// TEST_ASSET_*, USE_EXISTING_CLUSTER, KUBECONFIG) is ever used instead. When
// the binaries are missing the test fails, saying how to build them: a test
// that needs a cluster never skips.
//
// Both components listen on 127.0.0.1 on free ports, keep their data in a
// temporary directory and are stopped by the test's cleanup (Start) or when
// the package's tests are done (Main). An interrupt (SIGINT, SIGTERM) stops
// them too; a test binary that crashes or hits `go test -timeout` leaves
// them running.
//
// controller-runtime's logger, unless a test set one before, is routed to
// slog.Default() so that envtest's errors (a failed start it retries) show.
package clustertest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

const (
	// EnvDir names the environment variable that overrides where the
	// binaries are: a directory holding kube-apiserver, etcd and kubectl.
	EnvDir = "FERRY_TESTENV_DIR"

	// BuildCommand builds the binaries into the default directory, run from
	// the module root.
	BuildCommand = "make testenv"

	// modulePath identifies ferry's module root, where .cache/testenv is.
	modulePath = "github.com/ferry-gitops/ferry"

	// startTimeout bounds each component's start. Generous: a cold
	// kube-apiserver on a loaded 2-core machine takes several seconds.
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Dir returns the directory that holds the test cluster's binaries:
// $FERRY_TESTENV_DIR when set, the Makefile's per-user cache
// ($XDG_CACHE_HOME/ferry/testenv-v1.37.2) otherwise. The error, when one is
// missing, says how to build them.
func Dir() (string, error) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("clustertest: locate the test cluster's binaries (or set %s): %w", EnvDir, err)
		}
		dir = filepath.Join(cache, "ferry", "testenv-v1.37.2")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("clustertest: %s: %w", dir, err)
	}
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if err := checkExecutable(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("clustertest: the test cluster's binaries are not built: %w; build them with `%s` "+
				"(or `bash hack/testenv/build.sh %s`) from the module root", err, BuildCommand, dir)
		}
	}
	return dir, nil
}

// Kubectl returns the path of the kubectl built with the cluster's
// binaries (same version as the API server). It fails the test when missing.
func Kubectl(t testing.TB) string {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "kubectl")
}

// Kubeconfig writes a kubeconfig for cfg (as Start or Main return it) into
// the test's temporary directory and returns its path, for running kubectl
// against the cluster.
func Kubeconfig(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["clustertest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
		Token:                 cfg.BearerToken,
	}
	kc.Contexts["clustertest"] = &clientcmdapi.Context{Cluster: "clustertest", AuthInfo: "admin"}
	kc.CurrentContext = "clustertest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatalf("clustertest: write kubeconfig: %v", err)
	}
	return path
}

// Start starts etcd and kube-apiserver for this test and returns an admin
// (system:masters) config for the API server; the test's cleanup stops
// them. Each call starts a cluster of its own: for several tests sharing
// one, use Main.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	env, err := newEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	cfg, release, err := startGuarded(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clustertest: etcd + kube-apiserver up at %s in %s", cfg.Host, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		release()
		if err := env.Stop(); err != nil {
			t.Errorf("clustertest: stop control plane: %v", err)
		}
	})
	return cfg
}

// Main starts one cluster for a whole test package, sets *cfg to its admin
// config, runs the tests and stops the cluster. Use it from TestMain:
//
//	var cfg *rest.Config
//
//	func TestMain(m *testing.M) { os.Exit(clustertest.Main(m, &cfg)) }
//
// It returns m.Run's exit code, or 1 (after saying why on stderr) when the
// cluster could not be started or stopped.
func Main(m *testing.M, cfg **rest.Config) int {
	env, err := newEnvironment()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	began := time.Now()
	c, release, err := startGuarded(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	slog.Info("clustertest: etcd + kube-apiserver up", "host", c.Host, "elapsed", time.Since(began).Round(time.Millisecond))
	*cfg = c
	code := m.Run()
	release()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "clustertest: stop control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// newEnvironment configures envtest to run exactly our binaries: explicit
// paths (which KUBEBUILDER_ASSETS and TEST_ASSET_* cannot override), no
// download, never an existing cluster.
func newEnvironment() (*envtest.Environment, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	// First caller wins: a logger a test set before stays.
	ctrllog.SetLogger(logr.FromSlogHandler(slog.Default().Handler()))

	useExisting := false
	env := &envtest.Environment{
		BinaryAssetsDirectory:    dir,
		DownloadBinaryAssets:     false,
		UseExistingCluster:       &useExisting,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  stopTimeout,
	}
	env.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, "etcd")}
	env.ControlPlane.KubectlPath = filepath.Join(dir, "kubectl")
	return env, nil
}

// startGuarded starts env and, until release is called, stops it when the
// test binary is interrupted (SIGINT, SIGTERM), then lets the signal take
// its default course. envtest starts the components in process groups of
// their own, so a Ctrl-C reaches only the test binary, which would otherwise
// die leaving them running. When the start fails, whatever did start is
// stopped.
func startGuarded(env *envtest.Environment) (cfg *rest.Config, release func(), err error) {
	sigs := make(chan os.Signal, 1)
	started := make(chan struct{})
	released := make(chan struct{})
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		// An ignored signal (SIGINT of a background job) stays ignored.
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	go func() {
		select {
		case sig := <-sigs:
			<-started // never Stop while Start is running
			_ = env.Stop()
			signal.Stop(sigs)
			// The default action, once no other cluster is listening.
			if s, ok := sig.(syscall.Signal); ok {
				_ = syscall.Kill(os.Getpid(), s)
			}
		case <-released:
		}
	}()
	release = func() {
		signal.Stop(sigs)
		close(released)
	}

	cfg, err = env.Start()
	if err != nil {
		if stopErr := env.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop after failed start: %w", stopErr))
		}
	}
	close(started)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("clustertest: start etcd + kube-apiserver from %s: %w", env.BinaryAssetsDirectory, err)
	}
	return cfg, release, nil
}

// moduleRoot finds ferry's module root from the working directory (a test
// runs in its package's directory).
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for dir := wd; ; {
		path, err := goModPath(filepath.Join(dir, "go.mod"))
		if err != nil {
			return "", err
		}
		if path == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in %s or above", modulePath, wd)
		}
		dir = parent
	}
}

// goModPath returns the module path declared by the go.mod at file, "" when
// there is no such file.
func goModPath(file string) (string, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read go.mod: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`+"`"), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return "", nil
}

// checkExecutable reports whether path is an executable regular file.
func checkExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s is missing: %w", path, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
