package fetch

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ferry-gitops/ferry/internal/gitcmd"
)

// Repository is one entry of the server configuration's repositories:
// shaped like Argo CD's repository credentials. Credentials are never in
// the file itself: they come from files or FERRY_* environment variables.
type Repository struct {
	// URL allows every source whose URL starts with it at a path boundary:
	// https://charts.example.com, oci://registry.example.com/charts,
	// https://github.com/acme/platform-bases.
	URL          string `json:"url"`
	UsernameFile string `json:"usernameFile,omitempty"`
	PasswordFile string `json:"passwordFile,omitempty"`
	UsernameEnv  string `json:"usernameEnv,omitempty"`
	PasswordEnv  string `json:"passwordEnv,omitempty"`
	// InsecureOCIForceHTTP talks plain HTTP to an OCI registry (Argo CD's
	// insecureOCIForceHttp), for registries inside a cluster network.
	InsecureOCIForceHTTP bool `json:"insecureOCIForceHttp,omitempty"`
	// KeyringFile is a PGP keyring (as `helm --keyring` takes): every chart
	// from this Helm repository must then come with a provenance file
	// signed by one of its keys and recording the archive's digest.
	KeyringFile string `json:"keyringFile,omitempty"`
	// Line is where the entry starts in the configuration file.
	Line int `json:"-"`
}

// Allowlist is every repository a render may fetch from.
type Allowlist []Repository

// ErrNotAllowed is what a *NotAllowedError is.
var ErrNotAllowed = errors.New("not in the allowed repositories")

// NotAllowedError is a source URL no entry allows.
type NotAllowedError struct{ URL string }

func (e *NotAllowedError) Error() string {
	return fmt.Sprintf("%s is not an allowed repository: ferry fetches only from the server configuration's repositories "+
		"(add `- url: %s` under `repositories:` in the file given to --config)", gitcmd.Redact(e.URL), gitcmd.Redact(e.URL))
}

// Is makes errors.Is(err, ErrNotAllowed) hold.
func (e *NotAllowedError) Is(target error) bool { return target == ErrNotAllowed }

// Match returns the entry that allows url, the longest when several do.
func (l Allowlist) Match(url string) (Repository, error) {
	n := Normalize(url)
	best := -1
	for i, r := range l {
		p := Normalize(r.URL)
		if p == "" || !under(n, p) {
			continue
		}
		if best < 0 || len(p) > len(Normalize(l[best].URL)) {
			best = i
		}
	}
	if best < 0 {
		return Repository{}, &NotAllowedError{URL: url}
	}
	return l[best], nil
}

// under reports whether url is prefix itself or below it at a path
// boundary, so https://charts.example.com never allows
// https://charts.example.com.evil.test.
func under(url, prefix string) bool {
	if !strings.HasPrefix(url, prefix) {
		return false
	}
	rest := url[len(prefix):]
	return rest == "" || strings.HasSuffix(prefix, "/") || rest[0] == '/' || rest[0] == '?'
}

// Normalize is how URLs compare: lowercase scheme and host, no trailing
// "/" or ".git", and a registry reference without a scheme (Argo CD's way
// of naming an OCI Helm repository) as oci://.
func Normalize(url string) string {
	u := strings.TrimSpace(url)
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		scheme, rest = "oci", u
	}
	host, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:] // user info never decides what is allowed
	}
	out := strings.ToLower(scheme) + "://" + strings.ToLower(host)
	if path != "" {
		out += "/" + path
	}
	out = strings.TrimSuffix(strings.TrimRight(out, "/"), ".git")
	return strings.TrimRight(out, "/")
}

// Credentials reads the entry's username and password ("" when it has
// none). Errors name the file or variable, never its contents.
func (r Repository) Credentials() (username, password string, err error) {
	if username, err = secret(r.UsernameFile, r.UsernameEnv); err != nil {
		return "", "", fmt.Errorf("repository %s: username: %w", gitcmd.Redact(r.URL), err)
	}
	if password, err = secret(r.PasswordFile, r.PasswordEnv); err != nil {
		return "", "", fmt.Errorf("repository %s: password: %w", gitcmd.Redact(r.URL), err)
	}
	return username, password, nil
}

func secret(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("read %s: %w", file, pe.Err)
			}
			return "", fmt.Errorf("read %s", file)
		}
		return strings.TrimSpace(string(b)), nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	}
	return "", nil
}

// Validate checks the entries as the configuration file gives them;
// errors say what is wrong with which URL.
func (l Allowlist) Validate() error {
	for _, r := range l {
		u := gitcmd.Redact(r.URL)
		switch {
		case strings.TrimSpace(r.URL) == "":
			return errors.New("a repository needs a url")
		case strings.ContainsAny(r.URL, "*"):
			return fmt.Errorf("repository %s: url is a prefix, not a pattern", u)
		case r.UsernameFile != "" && r.UsernameEnv != "", r.PasswordFile != "" && r.PasswordEnv != "":
			return fmt.Errorf("repository %s: a credential comes from a file or an environment variable, not both", u)
		}
		if err := r.validateKeyring(); err != nil {
			return err
		}
		for _, env := range []string{r.UsernameEnv, r.PasswordEnv} {
			if env != "" && !strings.HasPrefix(env, "FERRY_") {
				return fmt.Errorf("repository %s: environment variable %s must start with FERRY_", u, env)
			}
		}
		if hasUserinfo(r.URL) {
			return fmt.Errorf("repository %s: credentials go in usernameFile/passwordFile, not in the url", u)
		}
	}
	return nil
}

// validateKeyring checks a keyringFile: on a Helm repository over HTTP(S),
// and readable.
func (r Repository) validateKeyring() error {
	if r.KeyringFile == "" {
		return nil
	}
	u := gitcmd.Redact(r.URL)
	if !strings.HasPrefix(Normalize(r.URL), "http") {
		return fmt.Errorf("repository %s: keyringFile is supported for Helm repositories over HTTP(S)", u)
	}
	f, err := os.Open(r.KeyringFile)
	if err != nil {
		return fmt.Errorf("repository %s: keyringFile: %w", u, err)
	}
	return f.Close()
}
