package sandbox

import (
	"fmt"
	"os"
	"reflect"

	"github.com/ferry-gitops/ferry/internal/fetch"
	"github.com/ferry-gitops/ferry/internal/render"
)

// fetchers keeps a worker's Fetcher across renders: one per configuration
// (the pool sends the same one every time).
type fetchers struct {
	cfg fetch.Config
	f   *fetch.Fetcher
}

// get returns the Remote for cfg; nil (fetch nothing) when cfg is nil.
func (c *fetchers) get(cfg *fetch.Config) (render.Remote, error) {
	if cfg == nil {
		return nil, nil
	}
	if c.f == nil || !reflect.DeepEqual(c.cfg, *cfg) {
		f, err := fetch.New(*cfg)
		if err != nil {
			return nil, fmt.Errorf("fetch configuration: %w", err)
		}
		c.cfg, c.f = *cfg, f
	}
	return c.f, nil
}

// credentialEnv passes a worker the FERRY_* variables the allowed
// repositories take credentials from; it gets no other environment.
func credentialEnv(cfg *fetch.Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, r := range cfg.Repositories {
		for _, name := range []string{r.UsernameEnv, r.PasswordEnv} {
			if v, ok := os.LookupEnv(name); ok && name != "" {
				out = append(out, name+"="+v)
			}
		}
	}
	return out
}
