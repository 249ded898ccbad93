package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/ferry-gitops/ferry/internal/kube"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

func TestUnavailable(t *testing.T) {
	deploy := schema.GroupResource{Group: "apps", Resource: "deployments"}
	key := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "production", Name: "payment-service"}
	refused := &url.Error{Op: "Patch", URL: "https://10.0.0.1:6443/apis/apps/v1/namespaces/production/deployments/payment-service",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	webhook := apierrors.NewInternalError(errors.New(`failed calling webhook "deny.ferry.test": failed to call webhook: Post "https://127.0.0.1:8443/validate?timeout=10s": EOF`))
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "payment-service",
		field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")})
	object := func(err error) *ObjectError { return &ObjectError{Key: key, Err: err} }

	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		// The cluster could not judge.
		{"connection refused", refused, true},
		{"connection refused, bare", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"connection reset", os.NewSyscallError("read", syscall.ECONNRESET), true},
		{"failing admission webhook (500)", webhook, true},
		{"too many requests (429)", apierrors.NewTooManyRequests("the server has received too many requests", 2), true},
		{"service unavailable (503)", apierrors.NewServiceUnavailable("the server is currently unable to handle the request"), true},
		{"gateway timeout (504)", apierrors.NewTimeoutError("request did not complete", 10), true},
		{"server timeout", apierrors.NewServerTimeout(deploy, "patch", 5), true},
		{"5xx without a reason", apierrors.NewGenericServerResponse(502, "patch", deploy, "payment-service", "bad gateway", 0, true), true},
		{"client-side deadline", context.DeadlineExceeded, true},
		{"deadline in a url.Error", &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api", Err: context.DeadlineExceeded}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"flattened to text", errors.New(`Get "https://10.0.0.1:6443/api": dial tcp 10.0.0.1:6443: i/o timeout`), true},
		{"discovery failed", &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "apps", Version: "v1"}: apierrors.NewServiceUnavailable("down")}}, true},
		{"wrapped in the sync's errors", fmt.Errorf("sync: %w", &ApplyError{Errors: []*ObjectError{object(fmt.Errorf("map kind: %w", refused)), object(webhook)}}), true},
		{"prune failed on an outage", &PruneError{Errors: []*ObjectError{object(apierrors.NewServiceUnavailable("etcd leader changed"))}}, true},

		// The cluster judged and rejected: the commit's fault.
		{"invalid (422)", invalid, false},
		{"forbidden (403)", apierrors.NewForbidden(deploy, "payment-service", errors.New(`admission webhook "deny.ferry.test" denied the request`)), false},
		{"conflict (409)", apierrors.NewConflict(deploy, "payment-service", errors.New("the object has been modified")), false},
		{"bad request (400)", apierrors.NewBadRequest("unknown field"), false},
		{"not found (404)", apierrors.NewNotFound(deploy, "payment-service"), false},
		{"one rejected object among outages", &ApplyError{Errors: []*ObjectError{object(refused), object(invalid)}}, false},
		{"discovery failed for a rejection", &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "x", Version: "v1"}: apierrors.NewForbidden(deploy, "", errors.New("no"))}}, false},
		{"not owned", object(ErrNotOwned), false},
		{"prune limit", &PruneLimitError{Prune: 3, Tracked: 4, Max: 0.5}, false},
		{"empty sync", ErrEmptySync, false},
		{"health", &HealthError{Reason: ErrDegraded}, false},
		{"cancelled", context.Canceled, false},
		{"cancelled request", &url.Error{Op: "Patch", URL: "https://10.0.0.1:6443/", Err: context.Canceled}, false},
		{"a file error", os.NewSyscallError("open", syscall.EACCES), false},
		{"empty join", errors.Join(), false},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unavailable(tt.err); got != tt.want {
				t.Errorf("Unavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestUnavailableFromTheAPIServer classifies what a sync against the test
// API server really returns: an API server that answers 500 or cannot be
// reached is Unavailable, one that refuses an object is not.
func TestUnavailableFromTheAPIServer(t *testing.T) {
	failing := &recorder{fail: func(r *http.Request) bool { return r.Method == http.MethodPatch }}
	down, err := kube.NewCluster(&rest.Config{Host: "https://127.0.0.1:1"}) // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		syncer *Syncer
		doc    string
		want   bool
	}{
		{"applies answered 500", newSyncer(t, failing), configMap("settings", nil), true},
		{"connection refused", New(down), configMap("settings", nil), true},
		{"an invalid object", newSyncer(t, nil), configMap("Not_A_Name", nil), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.syncer.Sync(ctxFor(t), parse(t, tt.doc), nil, testOptions(t))
			if err == nil {
				t.Fatal("the sync succeeded")
			}
			if got := Unavailable(err); got != tt.want {
				t.Errorf("Unavailable(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
