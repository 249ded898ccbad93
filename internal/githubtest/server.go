// Package githubtest is test support: a fake GitHub REST API that checks
// every call against GitHub's published REST description
// (testdata/github/rest-operations.json), models the operations ferry uses
// in memory, and builds signed webhook deliveries from GitHub's example
// payloads (testdata/github/webhooks). It is only for tests.
//
// A typical end-to-end test:
//
//	gh := githubtest.New(t)                      // fails t on any call GitHub would not serve
//	repo := gh.AddRepo(githubtest.Repo{Owner: "acme", Name: "app", CloneURL: git.CreateRepo(t, "acme/app", dir)})
//	pr := gh.AddPullRequest("acme", "app", githubtest.PR{HeadRef: "change", HeadSHA: sha})
//	// start ferry with BaseURL gh.URL(), then:
//	githubtest.Deliver(t, ferryURL+"webhook", secret, "pull_request",
//		githubtest.PullRequestPayload(t, "opened", repo, pr), "")
//	// and assert on gh.Comments("acme", "app", pr.Number), gh.CheckRuns(...), gh.Calls()...
//
// FailNext scripts one operation's next answers; Chaos makes the fake as
// unreliable as GitHub sometimes is (random 502s, some after the call
// took effect, and periodic secondary rate limits), and
// CallsDuringRetryAfter finds the calls a client made while told to wait.
package githubtest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultInstallationID is the GitHub App installation of a Repo that does
// not name one. It matches the id in the example webhook payloads.
const DefaultInstallationID int64 = 1

// Call is one request the fake received.
type Call struct {
	Method      string
	Path        string     // decoded, without the query and without an /api/v3 prefix
	Query       url.Values // decoded query parameters
	OperationID string     // "" when the call matched no operation
	Body        []byte     // request body
	Status      int        // status the fake answered
	Header      http.Header
	At          time.Time // when the call arrived
	// Installation is the installation whose token made the call (0: made
	// as the App, or unauthenticated).
	Installation int64
	Response     http.Header // the answer's headers
	Answered     time.Time   // when the answer was written
	Injected     string      // the fault Chaos injected ("" for none)
}

// Option configures a Server.
type Option func(*Server)

// WithAppKey makes the fake verify the App JWT's RS256 signature and issuer
// (the App ID) instead of only its shape.
func WithAppKey(appID int64, key *rsa.PublicKey) Option {
	return func(s *Server) {
		s.appID = appID
		s.appKey = key
	}
}

// WithAppSlug names the App; its comments and check runs are authored by
// "<slug>[bot]". The default is "ferry".
func WithAppSlug(slug string) Option {
	return func(s *Server) { s.appSlug = slug }
}

// WithToken accepts tok as an installation token of installationID without
// minting it, for tests that use a plain go-github client.
func WithToken(tok string, installationID int64) Option {
	return func(s *Server) {
		s.tokens[tok] = tokenInfo{installationID: installationID, expires: time.Now().Add(24 * time.Hour)}
	}
}

// WithRefResolver lets the fake resolve branch names it was not told about
// with SetBranch, typically from a gittest repository the code under test
// pushes to: resolve returns the commit a branch points at.
func WithRefResolver(resolve func(owner, repo, branch string) (string, error)) Option {
	return func(s *Server) { s.resolver = resolve }
}

// Server is a fake GitHub REST API. It is safe for concurrent use.
type Server struct {
	t    testing.TB
	srv  *httptest.Server
	spec *spec

	appID    int64
	appKey   *rsa.PublicKey
	appSlug  string
	resolver func(owner, repo, branch string) (string, error)

	mu         sync.Mutex
	calls      []Call
	violations []string
	faults     map[string][]*fault
	overrides  map[string]http.HandlerFunc
	tokens     map[string]tokenInfo
	rateUsed   int
	chaos      *chaos
	state
}

type tokenInfo struct {
	installationID int64
	expires        time.Time
}

// New starts a fake GitHub. When the test ends it is closed and the test
// fails if ferry made any call that GitHub would not accept as such: one
// matching no operation of the REST description, one whose JSON body lacks
// a required property or has a wrongly typed one, or one to an operation the
// fake does not model (add it with Handle).
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	sp, err := loadSpec()
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	s := &Server{
		t:         t,
		spec:      sp,
		appID:     1,
		appSlug:   "ferry",
		faults:    map[string][]*fault{},
		overrides: map[string]http.HandlerFunc{},
		tokens:    map[string]tokenInfo{},
		state:     newState(),
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Start()
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.violations) > 0 {
			t.Errorf("githubtest: %d call(s) GitHub would not have served:\n  %s",
				len(s.violations), strings.Join(s.violations, "\n  "))
		}
	})
	return s
}

// URL is the base URL to give go-github (client.BaseURL) and ghinstallation
// (Transport.BaseURL). It ends with a slash. Paths under /api/v3/ are also
// served, for clients set up with WithEnterpriseURLs.
func (s *Server) URL() string { return s.srv.URL + "/" }

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// CallsTo returns the calls to one operation, by its operationId
// ("issues/create-comment").
func (s *Server) CallsTo(operationID string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.OperationID == operationID {
			out = append(out, c)
		}
	}
	return out
}

// AllBodies returns every non-empty request body received, so a test can
// check that no secret was ever sent to GitHub.
func (s *Server) AllBodies() [][]byte {
	var out [][]byte
	for _, c := range s.Calls() {
		if len(c.Body) > 0 {
			out = append(out, c.Body)
		}
	}
	return out
}

// IsInstallationToken reports whether tok is an unexpired installation
// token the fake minted or was given with WithToken, so that a gittest
// server can accept the same tokens (gittest.Server.SetTokenCheck).
func (s *Server) IsInstallationToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.tokens[tok]
	return ok && time.Now().Before(info.expires)
}

// Handle serves operationID with h instead of the built-in model, for
// operations the fake does not model or answers a test wants to script.
// Routing, authentication, body checks and fault injection still apply.
func (s *Server) Handle(operationID string, h http.HandlerFunc) {
	s.t.Helper()
	if _, ok := s.spec.byID[operationID]; !ok {
		s.t.Fatalf("githubtest: Handle: no operation %q in GitHub's REST description", operationID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[operationID] = h
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	escaped := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(escaped, "/api/v3"); ok && (rest == "" || rest[0] == '/') {
		escaped = rest
	}
	decoded, err := url.PathUnescape(escaped)
	if err != nil {
		decoded = escaped
	}
	call := Call{Method: r.Method, Path: decoded, Query: r.URL.Query(), Body: body, Header: r.Header.Clone(), At: time.Now()}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		call.Status, call.Response, call.Answered = rec.status, rec.Header().Clone(), time.Now()
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()

	s.setRateHeaders(rec.Header())
	op, params := s.spec.match(r.Method, escaped)
	if op == nil {
		s.violate("%s %s matches no operation in GitHub's REST description", r.Method, decoded)
		writeError(rec, http.StatusNotFound, fmt.Sprintf(
			"githubtest: %s %s matches no operation in GitHub's REST description (testdata/github/rest-operations.json)",
			r.Method, decoded), "https://docs.github.com/rest")
		return
	}
	call.OperationID = op.ID

	inst, ok := s.authenticate(rec, r, op)
	if !ok {
		return
	}
	call.Installation = inst
	if s.injectFault(rec, op.ID) {
		return
	}
	if problem := op.checkBody(body); problem != "" {
		s.violate("%s %s (%s): %s", r.Method, decoded, op.ID, problem)
		writeError(rec, http.StatusUnprocessableEntity, "Invalid request.\n\n"+problem, docURL(op))
		return
	}
	run := s.handler(op, decoded, &request{r: r, op: op, params: params, body: body, installationID: inst})
	if !s.disturb(rec, &call, run) {
		run(rec)
	}
}

// handler is what answers a routed call: a Handle override, the model, or
// an error for an operation the fake does not model.
func (s *Server) handler(op *operation, path string, rq *request) func(http.ResponseWriter) {
	s.mu.Lock()
	override := s.overrides[op.ID]
	s.mu.Unlock()
	if override != nil {
		return func(w http.ResponseWriter) { override(w, rq.r) }
	}
	if h := handlerFor(op.ID); h != nil {
		return func(w http.ResponseWriter) { h(s, w, rq) }
	}
	return func(w http.ResponseWriter) {
		s.violate("%s %s (%s): operation is not modelled by githubtest (add it with Server.Handle)", rq.r.Method, path, op.ID)
		writeError(w, http.StatusNotImplemented, fmt.Sprintf(
			"githubtest: %s is in GitHub's REST description but not modelled by the fake; use Server.Handle", op.ID), docURL(op))
	}
}

func (s *Server) violate(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *Server) setRateHeaders(h http.Header) {
	s.mu.Lock()
	s.rateUsed++
	used := s.rateUsed
	s.mu.Unlock()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(5000-used, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%08X", used))
}

// needsAppJWT reports whether GitHub authenticates the operation as the App
// itself (a JWT) rather than as an installation.
func needsAppJWT(operationID string) bool {
	switch operationID {
	case "apps/get-authenticated", "apps/create-installation-access-token", "apps/get-installation",
		"apps/list-installations", "apps/get-repo-installation", "apps/get-org-installation",
		"apps/get-user-installation", "apps/delete-installation", "apps/suspend-installation",
		"apps/unsuspend-installation", "apps/get-webhook-config-for-app", "apps/list-webhook-deliveries",
		"apps/list-installation-requests-for-authenticated-app":
		return true
	}
	return false
}

// authenticate checks the Authorization header the way GitHub does for the
// operation and returns the installation an installation token belongs to
// (0 for App JWT calls).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, op *operation) (int64, bool) {
	// GitHub's manifest flow exchanges its one-time code without credentials.
	if op.ID == "apps/create-from-manifest" {
		return 0, true
	}
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	if needsAppJWT(op.ID) {
		if !strings.EqualFold(scheme, "Bearer") {
			writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded", docURL(op))
			return 0, false
		}
		if err := s.verifyJWT(cred); err != nil {
			writeError(w, http.StatusUnauthorized, "githubtest: invalid App JWT: "+err.Error(), docURL(op))
			return 0, false
		}
		return 0, true
	}
	if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "Bearer") {
		writeError(w, http.StatusUnauthorized, "Requires authentication", docURL(op))
		return 0, false
	}
	s.mu.Lock()
	info, ok := s.tokens[cred]
	s.mu.Unlock()
	if !ok || time.Now().After(info.expires) {
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return 0, false
	}
	return info.installationID, true
}

func (s *Server) verifyJWT(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return fmt.Errorf("want 3 dot-separated parts, got %d", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	for i, dst := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return fmt.Errorf("decode part %d: %w", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("parse part %d: %w", i, err)
		}
	}
	if header.Alg != "RS256" {
		return fmt.Errorf("alg %q, GitHub requires RS256", header.Alg)
	}
	if claims.Iat == 0 || claims.Exp == 0 || len(claims.Iss) == 0 {
		return fmt.Errorf("iat, exp and iss are required")
	}
	now := time.Now().Unix()
	if claims.Exp <= now {
		return fmt.Errorf("expired")
	}
	if claims.Exp-claims.Iat > 11*60 {
		return fmt.Errorf("exp is more than 10 minutes after iat")
	}
	if s.appKey == nil {
		return nil
	}
	iss := strings.Trim(string(claims.Iss), `"`)
	if iss != strconv.FormatInt(s.appID, 10) {
		return fmt.Errorf("iss %s is not App %d", iss, s.appID)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("decode signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(s.appKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	return nil
}

// errorBody is GitHub's error document.
type errorBody struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url,omitempty"`
	Status           string       `json:"status"`
}

type fieldError struct {
	Resource string `json:"resource"`
	Code     string `json:"code"`
	Field    string `json:"field"`
	Message  string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, message, doc string, errs ...fieldError) {
	writeJSON(w, status, errorBody{Message: message, Errors: errs, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

func docURL(op *operation) string {
	return "https://docs.github.com/rest/" + strings.ReplaceAll(op.ID, "/", "#")
}
