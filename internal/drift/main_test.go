package drift

import (
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/clustertest"
)

// cfg is the package's cluster (etcd + kube-apiserver), set by TestMain.
var cfg *rest.Config

func TestMain(m *testing.M) { os.Exit(clustertest.Main(m, &cfg)) }
