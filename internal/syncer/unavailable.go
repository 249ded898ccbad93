package syncer

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/discovery"
)

// Unavailable reports whether err says that the cluster could not judge
// the manifests, rather than that it judged and rejected them: the API
// server could not be reached or did not answer in time (connection
// refused or reset, a timeout), or answered that it cannot now (a 5xx:
// an internal error such as a failing admission webhook, unavailable, a
// server timeout; or 429, too many requests). Such an error is the
// cluster's, not the commit's: the sync waits for the cluster and tries
// again for as long as it lasts. A rejection (a 4xx: invalid, forbidden,
// an unresolvable conflict, an unknown kind) is not Unavailable, nor is an
// error ferry raised itself (ErrNotOwned, a refused prune) or a cancelled
// context.
//
// An error joining several (an ApplyError's objects) is Unavailable when
// each of them is: one object the API server rejected is the commit's
// fault, whatever else went wrong.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return allUnavailable(joined.Unwrap())
	}
	if unavailable, known := judge(err); known {
		return unavailable
	}
	return Unavailable(errors.Unwrap(err))
}

func allUnavailable(errs []error) bool {
	for _, e := range errs {
		if !Unavailable(e) {
			return false
		}
	}
	return len(errs) > 0
}

// judge classifies err itself, not what it wraps; known is false when err
// leaves the question to what it wraps.
func judge(err error) (unavailable, known bool) {
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Code != 0 {
		code := s.Status().Code
		return code >= http.StatusInternalServerError || code == http.StatusTooManyRequests, true
	}
	switch e := err.(type) {
	case *discovery.ErrGroupDiscoveryFailed:
		errs := make([]error, 0, len(e.Groups))
		for _, g := range e.Groups {
			errs = append(errs, g)
		}
		return allUnavailable(errs), true
	case syscall.Errno:
		return slices.Contains(lostErrnos, e), true
	case net.Error: // a transport failure (*url.Error, *net.OpError), context.DeadlineExceeded
		return true, true
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return true, true
	case errors.Unwrap(err) == nil:
		// The end of the chain: client-go flattens some transport errors
		// into text.
		return lostConnection(err.Error()), true
	}
	return false, false
}

// lostErrnos are the system errors of a connection that could not be made
// or was lost.
var lostErrnos = []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.ETIMEDOUT,
	syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE}

// lostConnection recognises the transport failures client-go reports as
// text only.
func lostConnection(msg string) bool {
	for _, s := range []string{"connection refused", "connection reset by peer", "i/o timeout", "TLS handshake timeout",
		"http2: server sent GOAWAY", "use of closed network connection", "broken pipe"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
