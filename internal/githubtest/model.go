package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"
)

// Repo is a repository, as seeded into the fake and as written into webhook
// payloads. Zero fields take the defaults noted, the same ones in both
// places, so a payload and the fake agree without extra set-up.
type Repo struct {
	Owner, Name    string
	ID             int64  // 0: derived from the full name
	DefaultBranch  string // "": "main"
	CloneURL       string // "": https://github.com/<owner>/<name>.git; point it at a gittest server end to end
	Private        bool
	InstallationID int64 // 0: DefaultInstallationID
}

// FullName is "owner/name".
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

func (r Repo) withDefaults() Repo {
	if r.ID == 0 {
		r.ID = stableID("repo:" + strings.ToLower(r.FullName()))
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.CloneURL == "" {
		r.CloneURL = "https://github.com/" + r.FullName() + ".git"
	}
	if r.InstallationID == 0 {
		r.InstallationID = DefaultInstallationID
	}
	return r
}

// PullRequest is a pull request, as seeded into the fake and as written
// into pull_request webhook payloads.
type PullRequest struct {
	Number  int    // 0: the repository's next issue number
	Title   string // "": "Pull request #<n>"
	Body    string
	User    string // author login; "": "octocat"
	HeadRef string // "": "feature-<n>"
	HeadSHA string // "": derived from the number
	BaseRef string // "": the repository's default branch
	BaseSHA string // "": derived from the number
	// HeadRepo is the fork the pull request comes from; nil means the
	// repository itself.
	HeadRepo       *Repo
	State          string // "open" or "closed"; "": "closed" if Merged, else "open"
	Draft          bool
	Merged         bool
	MergeCommitSHA string
	MergedBy       string // "": User, when Merged
	Labels         []string
	Files          []File // served by pulls/list-files
	CreatedAt      time.Time

	// Webhook payloads only.
	Sender    string         // who acted; "": MergedBy for a merge, else User
	BeforeSHA string         // synchronize: the previous head
	Changes   map[string]any // edited: GitHub's "changes" object; nil keeps the example's
}

// PR is the name the payload builders' callers tend to reach for.
type PR = PullRequest

// File is a file changed by a pull request.
type File struct {
	Filename         string
	Status           string // added, removed, modified, renamed...; "": "modified"
	Additions        int
	Deletions        int
	Patch            string
	PreviousFilename string
}

// Issue is an issue (not a pull request) in the fake.
type Issue struct {
	Number    int
	Title     string
	Body      string
	State     string // "open" or "closed"
	User      string
	Labels    []string
	Assignees []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID            int64
	Number        int  // issue or pull request number
	IsPullRequest bool // the comment is on a pull request
	User          string
	Body          string
	HTMLURL       string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Review is a pull request review.
type Review struct {
	ID          int64
	User        string
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	Body        string
	CommitID    string // "": the pull request's head
	SubmittedAt time.Time
}

// CheckRun is a check run as the App last left it. Annotations accumulate
// over create and every update, as on GitHub.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string
	Conclusion  string
	ExternalID  string
	DetailsURL  string
	Title       string
	Summary     string
	Text        string
	Annotations []Annotation
	Actions     []CheckRunAction
	StartedAt   time.Time
	CompletedAt time.Time
	Updates     int // successful checks/update calls
	AppID       int64
	AppSlug     string // with AppID, the App that owns the run, for CheckRunPayload
}

// Annotation is a check run annotation.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     int    `json:"start_column,omitempty"`
	EndColumn       int    `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckRunAction is a button on a check run.
type CheckRunAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// Deployment is a deployment with its statuses, oldest first.
type Deployment struct {
	ID                    int64
	Ref                   string
	SHA                   string
	Task                  string
	Environment           string
	Description           string
	Payload               json.RawMessage
	TransientEnvironment  bool
	ProductionEnvironment bool
	Creator               string
	CreatedAt             time.Time
	Statuses              []DeploymentStatus
}

// DeploymentStatus is one status of a deployment.
type DeploymentStatus struct {
	ID             int64
	State          string
	Description    string
	Environment    string
	EnvironmentURL string
	LogURL         string
	Creator        string
	CreatedAt      time.Time
}

// Reaction is a reaction to a comment.
type Reaction struct {
	ID      int64
	Content string
	User    string
}

// state is the fake's model of GitHub; Server.mu guards it.
type state struct {
	nextID        int64
	repos         map[string]*repoState
	comments      map[int64]*commentState
	reactions     map[int64][]Reaction
	installations map[int64]bool
}

func newState() state {
	return state{
		nextID:        1_000_000,
		repos:         map[string]*repoState{},
		comments:      map[int64]*commentState{},
		reactions:     map[int64][]Reaction{},
		installations: map[int64]bool{DefaultInstallationID: true},
	}
}

type repoState struct {
	Repo
	nextNumber  int
	items       map[int]*item
	perms       map[string]string // lower-case login → permission
	branches    map[string]string // branch → sha
	checkRuns   []*CheckRun
	deployments []*Deployment
}

// item is an issue or, with pr set, a pull request: they share numbers.
type item struct {
	id        int64
	number    int
	title     string
	body      string
	state     string
	user      string
	labels    []string
	assignees []string
	created   time.Time
	updated   time.Time
	closed    time.Time
	pr        *PullRequest
	reviews   []*Review
}

type commentState struct {
	Comment
	repo string // repoState key
}

func repoKey(owner, repo string) string { return strings.ToLower(owner + "/" + repo) }

func (st *state) newID() int64 {
	st.nextID++
	return st.nextID
}

// ensureRepo returns the repository, creating it with defaults; the caller
// holds s.mu.
func (s *Server) ensureRepo(owner, name string) *repoState {
	if rs, ok := s.repos[repoKey(owner, name)]; ok {
		return rs
	}
	return s.putRepo(Repo{Owner: owner, Name: name})
}

func (s *Server) putRepo(r Repo) *repoState {
	r = r.withDefaults()
	key := repoKey(r.Owner, r.Name)
	rs, ok := s.repos[key]
	if !ok {
		rs = &repoState{items: map[int]*item{}, perms: map[string]string{}, branches: map[string]string{}}
		s.repos[key] = rs
	}
	rs.Repo = r
	s.installations[r.InstallationID] = true
	return rs
}

// AddRepo adds a repository (or updates its settings) and returns it with
// defaults filled in. Other seeding methods add missing repositories with
// defaults, so this is only needed to change them.
func (s *Server) AddRepo(r Repo) Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putRepo(r).Repo
}

// SetBranch makes a branch point at sha, for git/get-ref and for resolving
// refs in pulls/create, repos/create-deployment and checks/list-for-ref.
func (s *Server) SetBranch(owner, repo, branch, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureRepo(owner, repo).branches[branch] = sha
}

// SetPermission gives user a permission on a repository: admin, maintain,
// write, triage, read or none. Users never set have "read" on a public
// repository and "none" on a private one.
func (s *Server) SetPermission(owner, repo, user, perm string) {
	s.t.Helper()
	if _, ok := legacyPermission(perm); !ok {
		s.t.Fatalf("githubtest: SetPermission: unknown permission %q", perm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureRepo(owner, repo).perms[strings.ToLower(user)] = perm
}

// legacyPermission maps a role to the coarser "permission" GitHub reports
// alongside it.
func legacyPermission(role string) (string, bool) {
	switch role {
	case "admin", "write", "read", "none":
		return role, true
	case "maintain":
		return "write", true
	case "triage":
		return "read", true
	}
	return "", false
}

// AddPullRequest adds a pull request and returns it with defaults filled in.
func (s *Server) AddPullRequest(owner, repo string, pr PullRequest) PullRequest {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.ensureRepo(owner, repo)
	if pr.Number == 0 {
		pr.Number = rs.nextNumber + 1
	}
	if _, dup := rs.items[pr.Number]; dup {
		s.t.Fatalf("githubtest: AddPullRequest: %s#%d already exists", rs.FullName(), pr.Number)
	}
	pr = pr.withDefaults(rs.Repo)
	it := &item{
		id: s.newID(), number: pr.Number, title: pr.Title, body: pr.Body, state: pr.State, user: pr.User,
		labels: slices.Clone(pr.Labels), created: pr.CreatedAt, updated: pr.CreatedAt,
	}
	if pr.State == "closed" {
		it.closed = pr.CreatedAt
	}
	stored := pr
	stored.Labels = nil
	stored.Files = slices.Clone(pr.Files)
	it.pr = &stored
	rs.addItem(it)
	return pr
}

func (pr PullRequest) withDefaults(r Repo) PullRequest {
	r = r.withDefaults()
	if pr.Title == "" {
		pr.Title = fmt.Sprintf("Pull request #%d", pr.Number)
	}
	if pr.User == "" {
		pr.User = "octocat"
	}
	if pr.HeadRef == "" {
		pr.HeadRef = fmt.Sprintf("feature-%d", pr.Number)
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = fakeSHA(fmt.Sprintf("%s#%d head", r.FullName(), pr.Number))
	}
	if pr.BaseRef == "" {
		pr.BaseRef = r.DefaultBranch
	}
	if pr.BaseSHA == "" {
		pr.BaseSHA = fakeSHA(fmt.Sprintf("%s#%d base", r.FullName(), pr.Number))
	}
	if pr.State == "" {
		pr.State = "open"
		if pr.Merged {
			pr.State = "closed"
		}
	}
	if pr.Merged {
		if pr.MergedBy == "" {
			pr.MergedBy = pr.User
		}
		if pr.MergeCommitSHA == "" {
			pr.MergeCommitSHA = fakeSHA(fmt.Sprintf("%s#%d merge", r.FullName(), pr.Number))
		}
	}
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = now()
	}
	return pr
}

func (rs *repoState) addItem(it *item) {
	rs.items[it.number] = it
	rs.nextNumber = max(rs.nextNumber, it.number)
}

// AddIssue adds an issue and returns it with defaults filled in (number,
// state "open", user "octocat").
func (s *Server) AddIssue(owner, repo string, is Issue) Issue {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.ensureRepo(owner, repo)
	if is.Number == 0 {
		is.Number = rs.nextNumber + 1
	}
	if _, dup := rs.items[is.Number]; dup {
		s.t.Fatalf("githubtest: AddIssue: %s#%d already exists", rs.FullName(), is.Number)
	}
	if is.State == "" {
		is.State = "open"
	}
	if is.User == "" {
		is.User = "octocat"
	}
	if is.CreatedAt.IsZero() {
		is.CreatedAt = now()
	}
	is.UpdatedAt = is.CreatedAt
	rs.addItem(&item{
		id: s.newID(), number: is.Number, title: is.Title, body: is.Body, state: is.State, user: is.User,
		labels: slices.Clone(is.Labels), assignees: slices.Clone(is.Assignees), created: is.CreatedAt, updated: is.CreatedAt,
	})
	return is
}

// AddComment adds a comment by user to an existing issue or pull request
// and returns it, ready for IssueCommentPayload.
func (s *Server) AddComment(owner, repo string, number int, user, body string) Comment {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.ensureRepo(owner, repo)
	it, ok := rs.items[number]
	if !ok {
		s.t.Fatalf("githubtest: AddComment: %s#%d does not exist", rs.FullName(), number)
	}
	return s.addComment(rs, it, user, body).Comment
}

func (s *Server) addComment(rs *repoState, it *item, user, body string) *commentState {
	id := s.newID()
	t := now()
	kind := "issues"
	if it.pr != nil {
		kind = "pull"
	}
	c := &commentState{
		Comment: Comment{
			ID: id, Number: it.number, IsPullRequest: it.pr != nil, User: user, Body: body, CreatedAt: t, UpdatedAt: t,
			HTMLURL: fmt.Sprintf("https://github.com/%s/%s/%d#issuecomment-%d", rs.FullName(), kind, it.number, id),
		},
		repo: repoKey(rs.Owner, rs.Name),
	}
	s.comments[id] = c
	it.updated = t
	return c
}

// AddReview adds a review to a pull request and returns it with defaults
// filled in (state APPROVED, commit the head, submitted now).
func (s *Server) AddReview(owner, repo string, number int, r Review) Review {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.ensureRepo(owner, repo)
	it, ok := rs.items[number]
	if !ok || it.pr == nil {
		s.t.Fatalf("githubtest: AddReview: %s has no pull request #%d", rs.FullName(), number)
	}
	r.ID = s.newID()
	r.State = strings.ToUpper(r.State)
	if r.State == "" {
		r.State = "APPROVED"
	}
	if r.User == "" {
		r.User = "octocat"
	}
	if r.CommitID == "" {
		r.CommitID = it.pr.HeadSHA
	}
	if r.SubmittedAt.IsZero() {
		r.SubmittedAt = now()
	}
	stored := r
	it.reviews = append(it.reviews, &stored)
	return r
}

// DismissReview marks a review DISMISSED and returns it.
func (s *Server) DismissReview(owner, repo string, number int, reviewID int64) Review {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.ensureRepo(owner, repo).items[number]; ok {
		for _, r := range it.reviews {
			if r.ID == reviewID {
				r.State = "DISMISSED"
				return *r
			}
		}
	}
	s.t.Fatalf("githubtest: DismissReview: %s/%s#%d has no review %d", owner, repo, number, reviewID)
	return Review{}
}

// Comments returns the comments on an issue or pull request, oldest first.
func (s *Server) Comments(owner, repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commentsOn(repoKey(owner, repo), number)
}

func (s *Server) commentsOn(key string, number int) []Comment {
	var out []Comment
	for _, c := range s.comments {
		if c.repo == key && c.Number == number {
			out = append(out, c.Comment)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CheckRuns returns the check runs on a commit (all of them for sha ""),
// oldest first.
func (s *Server) CheckRuns(owner, repo, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	if rs, ok := s.repos[repoKey(owner, repo)]; ok {
		for _, cr := range rs.checkRuns {
			if sha == "" || cr.HeadSHA == sha {
				c := *cr
				c.AppID, c.AppSlug = s.appID, s.appSlug
				c.Annotations = slices.Clone(cr.Annotations)
				c.Actions = slices.Clone(cr.Actions)
				out = append(out, c)
			}
		}
	}
	return out
}

// Issues returns the issues of a repository that are not pull requests,
// by number.
func (s *Server) Issues(owner, repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, it := range s.sortedItems(owner, repo) {
		if it.pr == nil {
			out = append(out, Issue{
				Number: it.number, Title: it.title, Body: it.body, State: it.state, User: it.user,
				Labels: slices.Clone(it.labels), Assignees: slices.Clone(it.assignees), CreatedAt: it.created, UpdatedAt: it.updated,
			})
		}
	}
	return out
}

// PullRequests returns the pull requests of a repository, by number.
func (s *Server) PullRequests(owner, repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, it := range s.sortedItems(owner, repo) {
		if it.pr != nil {
			out = append(out, it.pullRequest())
		}
	}
	return out
}

func (it *item) pullRequest() PullRequest {
	pr := *it.pr
	pr.Title, pr.Body, pr.State, pr.User = it.title, it.body, it.state, it.user
	pr.Labels = slices.Clone(it.labels)
	pr.Files = slices.Clone(it.pr.Files)
	return pr
}

func (s *Server) sortedItems(owner, repo string) []*item {
	rs, ok := s.repos[repoKey(owner, repo)]
	if !ok {
		return nil
	}
	out := make([]*item, 0, len(rs.items))
	for _, it := range rs.items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].number < out[j].number })
	return out
}

// Deployments returns the deployments of a repository, oldest first.
func (s *Server) Deployments(owner, repo string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	if rs, ok := s.repos[repoKey(owner, repo)]; ok {
		for _, d := range rs.deployments {
			c := *d
			c.Statuses = slices.Clone(d.Statuses)
			out = append(out, c)
		}
	}
	return out
}

// Reactions returns the reactions to an issue comment, oldest first.
func (s *Server) Reactions(commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reactions[commentID])
}

// stableID derives a positive id from a name, so ids agree between a
// payload and the fake without coordination.
func stableID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64()%(1<<30)) + 100_000
}

// fakeSHA is a commit-looking hex digest of a name.
func fakeSHA(name string) string {
	sum := sha1.Sum([]byte(name))
	return hex.EncodeToString(sum[:])
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }
