package fetch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// ociChart fetches a chart from an OCI registry with Helm's registry
// client: an exact version is the tag, a range the newest tag it allows.
func (f *Fetcher) ociChart(ctx context.Context, ref ChartRef) (*Chart, error) {
	name, err := ociName(ref)
	if err != nil {
		return nil, err
	}
	r, err := f.cfg.Repositories.Match("oci://" + name)
	if err != nil {
		// The entry to suggest is the repository, not the chart in it.
		return nil, &NotAllowedError{URL: strings.TrimSpace(ref.RepoURL)}
	}
	exact := isExact(ref.Version)
	if exact {
		if ch, ok := f.cachedChart(ref, ref.Version); ok {
			return ch, nil
		}
	}
	client, err := f.registryClient(ctx, r, name)
	if err != nil {
		return nil, err
	}
	version := ref.Version
	if !exact {
		if version, err = f.resolveTag(client, name, ref.Version); err != nil {
			return nil, err
		}
		if ch, ok := f.cachedChart(ref, version); ok {
			return ch, nil
		}
	}
	ch, err := pull(client, ref, name, version)
	if err != nil {
		return nil, err
	}
	f.storeChart(ch, ref.Version, "oci://"+name)
	return ch, nil
}

// ociName is the chart's repository in the registry, host/path/chart, from
// an oci:// URL or a host/path without a scheme.
func ociName(ref ChartRef) (string, error) {
	u := strings.TrimSpace(ref.RepoURL)
	if scheme, rest, ok := strings.Cut(u, "://"); ok {
		if !strings.EqualFold(scheme, "oci") {
			return "", fmt.Errorf("repository %s: ferry fetches charts over http://, https:// and oci:// only", u)
		}
		u = rest
	}
	u = strings.Trim(u, "/")
	if u == "" {
		return "", fmt.Errorf("repository %s names no registry", ref.RepoURL)
	}
	host, path, _ := strings.Cut(u, "/")
	name := strings.ToLower(host)
	if path != "" {
		name += "/" + path
	}
	return name + "/" + ref.Chart, nil
}

// registryClient is a Helm registry client for one fetch: its requests
// carry ctx and fit MaxBytes together, it sends the entry's credentials
// to the registry's host only, and it speaks plain HTTP only when the
// entry says so (never Helm's fallback to it).
func (f *Fetcher) registryClient(ctx context.Context, r Repository, name string) (*registry.Client, error) {
	user, pass, err := r.Credentials()
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: newBoundTransport(ctx, f.transport, f.cfg.MaxBytes)}
	authorizer := auth.Client{Client: hc, Cache: auth.NewCache()}
	if user != "" || pass != "" {
		host, _, _ := strings.Cut(name, "/")
		authorizer.Credential = auth.StaticCredential(host, auth.Credential{Username: user, Password: pass})
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptAuthorizer(authorizer),
		registry.ClientOptWriter(io.Discard),
	}
	if r.InsecureOCIForceHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return c, nil
}

// resolveTag picks the newest tag of name that want allows, from a tag
// list fresher than IndexTTL when there is one.
func (f *Fetcher) resolveTag(client *registry.Client, name, want string) (string, error) {
	key := "tags\x00oci://" + name
	var tags []string
	cached := f.cache.getJSON(key, &tags, IndexTTL)
	if cached {
		if v, err := resolve(want, tags); err == nil {
			return v, nil
		}
	}
	tags, err := client.Tags(name)
	if err != nil {
		return "", fmt.Errorf("list tags of %s: %w", name, err)
	}
	_ = f.cache.putJSON(key, tags, true) // best effort, like every cache write
	v, err := resolve(want, tags)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", name, err)
	}
	return v, nil
}

// pull downloads the chart layer of name:version; the client checks it
// against the manifest's digest, and so does pull.
func pull(client *registry.Client, ref ChartRef, name, version string) (*Chart, error) {
	res, err := client.Pull(name+":"+version, registry.PullOptWithChart(true))
	if err != nil {
		return nil, fmt.Errorf("pull %s:%s: %w", name, version, err)
	}
	if res.Chart == nil || len(res.Chart.Data) == 0 {
		return nil, fmt.Errorf("pull %s:%s: no chart layer", name, version)
	}
	if d := digestOf(res.Chart.Data); !sameDigest(d, res.Chart.Digest) {
		return nil, fmt.Errorf("chart %s %s: the layer's digest %s is not the manifest's %s: refusing it",
			ref.Chart, version, d, res.Chart.Digest)
	}
	return &Chart{Ref: ref, Version: version, Digest: res.Chart.Digest, Archive: res.Chart.Data}, nil
}
