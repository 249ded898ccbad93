package fetch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// ErrTooLarge is what a download over Config.MaxBytes fails with.
var ErrTooLarge = errors.New("over the fetch size limit")

// maxManifestBytes bounds an OCI manifest, as ORAS does.
const maxManifestBytes = 4 << 20

func tooLarge(what string, limit int64) error {
	return fmt.Errorf("%s: %w of %d bytes (maxBytes in the fetch configuration)", what, ErrTooLarge, limit)
}

// newTransport is the HTTP transport of every fetch: Go's default one,
// on its own so nothing else shares its connections.
func newTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return http.DefaultTransport
}

// readLimited reads a response body of at most limit bytes; size is its
// Content-Length (-1 when unknown), refused at once when over.
func readLimited(r io.Reader, size, limit int64, what string) ([]byte, error) {
	if size > limit {
		return nil, tooLarge(what, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(what, limit)
	}
	return b, nil
}

// boundTransport carries the requests of one OCI fetch, made by a client
// that takes no context (Helm's registry client): it binds each to the
// fetch's context, bounds what all the responses bring together, and
// refuses a manifest whose layers add up to more before anything
// allocates room for them.
type boundTransport struct {
	base  http.RoundTripper
	ctx   context.Context
	limit int64
	left  *atomic.Int64
}

func newBoundTransport(ctx context.Context, base http.RoundTripper, limit int64) *boundTransport {
	t := &boundTransport{base: base, ctx: ctx, limit: limit, left: new(atomic.Int64)}
	t.left.Store(limit)
	return t
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	what := "response from " + req.URL.Host
	if resp.ContentLength > t.left.Load() {
		_ = resp.Body.Close()
		return nil, tooLarge(what, t.limit)
	}
	resp.Body = &boundBody{rc: resp.Body, t: t, what: what}
	if req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && strings.Contains(req.URL.Path, "/manifests/") {
		if err := t.checkManifest(resp, req.URL.Path); err != nil {
			_ = resp.Body.Close()
			return nil, err
		}
	}
	return resp, nil
}

// checkManifest reads the manifest in resp, refuses it if what it
// declares is over the limit, and puts it back for the client to read.
func (t *boundTransport) checkManifest(resp *http.Response, path string) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return fmt.Errorf("read manifest: %w", err)
	}
	if len(b) > maxManifestBytes {
		return tooLarge("manifest", maxManifestBytes)
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var m struct {
		Config    *struct{ Size int64 }  `json:"config"`
		Layers    []struct{ Size int64 } `json:"layers"`
		Manifests []struct{ Size int64 } `json:"manifests"`
	}
	if json.Unmarshal(b, &m) != nil {
		return nil // not JSON: the client's own parser says what is wrong
	}
	var total int64
	sizes := append(m.Layers, m.Manifests...)
	if m.Config != nil {
		sizes = append(sizes, struct{ Size int64 }{m.Config.Size})
	}
	for _, l := range sizes {
		if l.Size < 0 || l.Size > t.limit || total+l.Size > t.limit {
			return tooLarge("manifest "+path+" declares content", t.limit)
		}
		total += l.Size
	}
	return nil
}

// boundBody is a response body charged to its fetch's byte budget.
type boundBody struct {
	rc   io.ReadCloser
	t    *boundTransport
	what string
}

func (b *boundBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.t.left.Add(-int64(n)) < 0 {
		return n, tooLarge(b.what, b.t.limit)
	}
	return n, err
}

func (b *boundBody) Close() error { return b.rc.Close() }
