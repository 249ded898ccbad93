package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Chart fetches the chart ref names from its Helm repository (http:// or
// https://: an index.yaml) or OCI registry (oci:// or a registry
// host/path without a scheme), resolving a semver range to the newest
// version it allows. The repository must be allowed; nothing is requested
// otherwise. An exact version fetched before comes from the cache without
// any request, and so does a range within IndexTTL of the index it was
// resolved against.
func (f *Fetcher) Chart(ctx context.Context, ref ChartRef) (*Chart, error) {
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	var (
		ch  *Chart
		err error
	)
	if isHTTP(ref.RepoURL) {
		ch, err = f.httpChart(ctx, ref)
	} else {
		ch, err = f.ociChart(ctx, ref)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w (timed out: the fetch timeout is %s)", err, f.cfg.Timeout)
	}
	return ch, err
}

// checkRef refuses refs no repository could serve safely: a chart name
// that is a path, a repository URL with credentials in it.
func checkRef(ref ChartRef) error {
	switch name := ref.Chart; {
	case strings.TrimSpace(name) == "":
		return errors.New("a chart needs a name")
	case strings.Contains(name, "/") || strings.Contains(name, `\`) || strings.Contains(name, ".."):
		return fmt.Errorf("chart name %q is not a name: it has a path in it", name)
	case strings.ContainsAny(name, ":@?#") || strings.TrimSpace(name) != name:
		return fmt.Errorf("chart name %q has a character a chart name cannot have", name)
	}
	if strings.TrimSpace(ref.RepoURL) == "" {
		return fmt.Errorf("chart %s needs a repository URL", ref.Chart)
	}
	if hasUserinfo(ref.RepoURL) {
		return errors.New("a repository URL cannot carry credentials: the server configuration's repositories give them")
	}
	return nil
}

// hasUserinfo reports whether raw has a user (and perhaps a password)
// before its host.
func hasUserinfo(raw string) bool {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		rest = raw
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.Contains(host, "@")
}

func isHTTP(repoURL string) bool {
	u, err := url.Parse(strings.TrimSpace(repoURL))
	if err != nil {
		return false
	}
	s := strings.ToLower(u.Scheme)
	return s == "http" || s == "https"
}

// isExact reports whether version pins one version rather than a range;
// like Argo CD, anything semver parses as a version ("1.2.3", "v1.2")
// is a pin.
func isExact(version string) bool {
	_, err := semver.NewVersion(version)
	return err == nil
}

// resolve picks the version want names among available as Argo CD does: a
// pin matches the same string or the same semver version; a range (""
// and "*" are every release) the newest version it allows. Prereleases
// match only a range that names one (">=1.0.0-0").
func resolve(want string, available []string) (string, error) {
	if isExact(want) {
		v, _ := semver.NewVersion(want)
		for _, a := range available {
			if a == want {
				return a, nil
			}
		}
		for _, a := range available {
			if av, err := semver.NewVersion(a); err == nil && av.Equal(v) {
				return a, nil
			}
		}
		return "", fmt.Errorf("version %s not found (%s)", want, describe(available))
	}
	c := strings.TrimSpace(want)
	if c == "" {
		c = "*"
	}
	cons, err := semver.NewConstraint(c)
	if err != nil {
		return "", fmt.Errorf("version %q is neither a version nor a semver range: %w", want, err)
	}
	best, bestV := "", (*semver.Version)(nil)
	for _, a := range available {
		av, err := semver.NewVersion(a)
		if err != nil || !cons.Check(av) {
			continue
		}
		if bestV == nil || av.GreaterThan(bestV) {
			best, bestV = a, av
		}
	}
	if bestV == nil {
		return "", fmt.Errorf("no version matches %q (%s)", want, describe(available))
	}
	return best, nil
}

// describe summarizes the versions there are, newest first, for errors.
func describe(available []string) string {
	var vs semver.Collection
	for _, a := range available {
		if v, err := semver.NewVersion(a); err == nil {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return "there are no versions"
	}
	sort.Sort(sort.Reverse(vs))
	const most = 5
	names := make([]string, 0, most)
	for i, v := range vs {
		if i == most {
			names = append(names, "…")
			break
		}
		names = append(names, v.Original())
	}
	return "available: " + strings.Join(names, ", ")
}
