package kube_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/kube"
)

// writeKubeconfig writes a kubeconfig with a dev cluster, a prod cluster
// that two contexts share, and a context per cluster with its own token.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["dev"] = &clientcmdapi.Cluster{Server: "https://dev.example.com:6443"}
	kc.Clusters["prod"] = &clientcmdapi.Cluster{Server: "https://prod.example.com/"}
	kc.Clusters["staging"] = &clientcmdapi.Cluster{Server: "https://staging.example.com"}
	kc.AuthInfos["dev-user"] = &clientcmdapi.AuthInfo{Token: "dev-token"}
	kc.AuthInfos["prod-admin"] = &clientcmdapi.AuthInfo{Token: "prod-admin-token"}
	kc.AuthInfos["prod-deployer"] = &clientcmdapi.AuthInfo{Token: "prod-deployer-token"}
	kc.AuthInfos["staging-user"] = &clientcmdapi.AuthInfo{Token: "staging-token"}
	kc.Contexts["dev"] = &clientcmdapi.Context{Cluster: "dev", AuthInfo: "dev-user"}
	kc.Contexts["prod-admin"] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "prod-admin"}
	kc.Contexts["prod-deployer"] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "prod-deployer"}
	kc.Contexts["staging"] = &clientcmdapi.Context{Cluster: "staging", AuthInfo: "staging-user"}
	kc.CurrentContext = "dev"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func fakeInCluster() (*rest.Config, error) {
	return &rest.Config{Host: "https://10.96.0.1:443", BearerToken: "service-account-token"}, nil
}

func TestClustersConfig(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	tests := []struct {
		name      string
		opts      kube.ClustersOptions
		dest      environment.Destination
		wantHost  string
		wantToken string
		wantErr   string
		wantIs    error
	}{
		{
			name:     "name is a context",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:     environment.Destination{Name: "dev", Namespace: "x"},
			wantHost: "https://dev.example.com:6443", wantToken: "dev-token",
		},
		{
			name:     "server is one context's cluster",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:     environment.Destination{Server: "https://staging.example.com/"},
			wantHost: "https://staging.example.com", wantToken: "staging-token",
		},
		{
			name:    "server shared by two contexts is ambiguous",
			opts:    kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:    environment.Destination{Server: "https://prod.example.com"},
			wantErr: "contexts prod-admin, prod-deployer all point at that server",
		},
		{
			name:     "clusters map settles the ambiguity",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig, Contexts: map[string]string{"https://prod.example.com": "prod-deployer"}},
			dest:     environment.Destination{Server: "https://prod.example.com/"},
			wantHost: "https://prod.example.com/", wantToken: "prod-deployer-token",
		},
		{
			name:     "clusters map names an Argo CD cluster",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig, Contexts: map[string]string{"production": "prod-admin"}},
			dest:     environment.Destination{Name: "production"},
			wantHost: "https://prod.example.com/", wantToken: "prod-admin-token",
		},
		{
			name:     "in-cluster server",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig, InCluster: fakeInCluster},
			dest:     environment.Destination{Server: "https://kubernetes.default.svc"},
			wantHost: "https://10.96.0.1:443", wantToken: "service-account-token",
		},
		{
			name:     "in-cluster name without a kubeconfig",
			opts:     kube.ClustersOptions{InCluster: fakeInCluster},
			dest:     environment.Destination{Name: "in-cluster"},
			wantHost: "https://10.96.0.1:443", wantToken: "service-account-token",
		},
		{
			name:     "clusters map overrides in-cluster",
			opts:     kube.ClustersOptions{Kubeconfig: kubeconfig, InCluster: fakeInCluster, Contexts: map[string]string{"https://kubernetes.default.svc": "dev"}},
			dest:     environment.Destination{Server: "https://kubernetes.default.svc"},
			wantHost: "https://dev.example.com:6443", wantToken: "dev-token",
		},
		{
			name:    "in-cluster outside a pod",
			opts:    kube.DefaultClustersOptions(),
			dest:    environment.Destination{Server: "https://kubernetes.default.svc"},
			wantErr: "in-cluster config",
			wantIs:  rest.ErrNotInCluster,
		},
		{
			name:    "in-cluster turned off",
			opts:    kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:    environment.Destination{Name: "in-cluster"},
			wantErr: "in-cluster access is off",
		},
		{
			name:    "unknown name",
			opts:    kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:    environment.Destination{Name: "qa"},
			wantErr: `name "qa": no such context`,
			wantIs:  kube.ErrUnknownDestination,
		},
		{
			name:    "unknown server",
			opts:    kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:    environment.Destination{Server: "https://qa.example.com"},
			wantErr: "no context of",
			wantIs:  kube.ErrUnknownDestination,
		},
		{
			name:    "no kubeconfig",
			opts:    kube.DefaultClustersOptions(),
			dest:    environment.Destination{Name: "dev"},
			wantErr: "no kubeconfig",
			wantIs:  kube.ErrUnknownDestination,
		},
		{
			name:    "both name and server",
			opts:    kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:    environment.Destination{Name: "dev", Server: "https://dev.example.com:6443"},
			wantErr: "set one",
		},
		{
			name:   "neither name nor server",
			opts:   kube.ClustersOptions{Kubeconfig: kubeconfig},
			dest:   environment.Destination{Namespace: "production"},
			wantIs: kube.ErrUnknownDestination,
		},
	}
	// rest.InClusterConfig looks at these: make sure this is not a pod.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters, err := kube.NewClusters(tt.opts)
			if err != nil {
				t.Fatalf("NewClusters: %v", err)
			}
			cfg, err := clusters.Config(tt.dest)
			if tt.wantErr != "" || tt.wantIs != nil {
				if err == nil {
					t.Fatalf("Config(%+v) = %s, want an error", tt.dest, cfg.Host)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not say %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %q is not %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Config(%+v): %v", tt.dest, err)
			}
			if cfg.Host != tt.wantHost || cfg.BearerToken != tt.wantToken {
				t.Errorf("Config(%+v) = host %q token %q, want %q %q", tt.dest, cfg.Host, cfg.BearerToken, tt.wantHost, tt.wantToken)
			}
		})
	}
}

func TestNewClustersChecksContexts(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	tests := []struct {
		name    string
		opts    kube.ClustersOptions
		wantErr string
	}{
		{"mapped context missing", kube.ClustersOptions{Kubeconfig: kubeconfig, Contexts: map[string]string{"production": "prod"}}, `maps to context "prod", which`},
		{"map without kubeconfig", kube.ClustersOptions{Contexts: map[string]string{"production": "prod-admin"}}, "no kubeconfig is given"},
		{"kubeconfig missing", kube.ClustersOptions{Kubeconfig: filepath.Join(t.TempDir(), "nope")}, "load kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kube.NewClusters(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewClusters: err = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestClustersShared checks that two spellings of one destination share
// a Cluster (and so its discovery), and that NewCluster turns client-side
// rate limiting off unless the config sets it, without touching the
// caller's config.
func TestClustersShared(t *testing.T) {
	clusters, err := kube.NewClusters(kube.ClustersOptions{
		Kubeconfig: writeKubeconfig(t),
		Contexts:   map[string]string{"development": "dev"},
	})
	if err != nil {
		t.Fatal(err)
	}
	byName, err := clusters.Cluster(environment.Destination{Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	byServer, err := clusters.Cluster(environment.Destination{Server: "https://dev.example.com:6443"})
	if err != nil {
		t.Fatal(err)
	}
	byMap, err := clusters.Cluster(environment.Destination{Name: "development"})
	if err != nil {
		t.Fatal(err)
	}
	if byName != byServer || byName != byMap {
		t.Errorf("one context, three Clusters: %p %p %p", byName, byServer, byMap)
	}
	staging, err := clusters.Cluster(environment.Destination{Name: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if staging == byName {
		t.Errorf("staging and dev share a Cluster")
	}
	if byName.Config.QPS >= 0 {
		t.Errorf("NewCluster left client-side rate limiting on (qps %v): client-go's default would throttle a sync", byName.Config.QPS)
	}

	own := &rest.Config{Host: "https://x.example.com", QPS: 7, Burst: 9}
	c, err := kube.NewCluster(own)
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.QPS != 7 || c.Config.Burst != 9 || c.Config == own {
		t.Errorf("NewCluster: qps %v burst %d (same config: %v), want the caller's 7 and 9 on a copy", c.Config.QPS, c.Config.Burst, c.Config == own)
	}
}
