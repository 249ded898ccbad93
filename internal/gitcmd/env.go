package gitcmd

import (
	"os"
	"strings"
)

const devNull = os.DevNull

// inherited are the only variables git gets from ferry's environment: where
// programs are, where temporary files go, how to reach the network (proxies,
// CA certificates), and git's trace switches, which only make git write
// diagnostics. Nothing that points git at another repository, object store,
// configuration or program (GIT_DIR, GIT_CONFIG_*, GIT_SSH, ...) passes.
var inherited = []string{
	"PATH", "TMPDIR",
	"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
	"GIT_TRACE", "GIT_TRACE_PACKET", "GIT_TRACE_PERFORMANCE", "GIT_TRACE_SETUP",
}

// hardenedEnv is set on every call, after the caller's extra variables so
// that none of them can be overridden.
var hardenedEnv = []string{
	"HOME=" + devNull, // no ~/.gitconfig, ~/.git-credentials, ~/.config/git
	"GIT_CONFIG_NOSYSTEM=1",
	"GIT_CONFIG_GLOBAL=" + devNull,
	"GIT_TERMINAL_PROMPT=0",
	"GIT_ASKPASS=true", // answers empty instead of running core.askPass
	"GIT_EDITOR=true",  // never wait for an editor
	"GIT_PAGER=cat",
	"GIT_NO_REPLACE_OBJECTS=1", // read the objects, not what refs/replace says
	"LC_ALL=C",                 // messages callers can match, paths as bytes
}

// environ is the environment of one git process. GIT_ALLOW_PROTOCOL
// outranks any protocol.*.allow in the repository's configuration.
func environ(extra, protocols []string) []string {
	env := make([]string, 0, len(inherited)+len(extra)+len(hardenedEnv)+1)
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, extra...)
	env = append(env, hardenedEnv...)
	if len(protocols) == 0 {
		protocols = []string{"https"}
	}
	return append(env, "GIT_ALLOW_PROTOCOL="+strings.Join(protocols, ":"))
}
