package githubtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// request is a routed call handed to a model handler.
type request struct {
	r              *http.Request
	op             *operation
	params         map[string]string
	body           []byte
	installationID int64 // 0 for App JWT calls
}

type handlerFunc func(s *Server, w http.ResponseWriter, rq *request)

// handlerFor returns the model of an operation, or nil when the fake does
// not model it.
func handlerFor(operationID string) handlerFunc {
	switch operationID {
	case "apps/get-authenticated":
		return (*Server).getApp
	case "apps/create-installation-access-token":
		return (*Server).createInstallationToken
	case "apps/get-installation":
		return (*Server).getInstallation
	case "apps/get-repo-installation":
		return (*Server).getRepoInstallation
	case "issues/create-comment":
		return (*Server).createComment
	case "issues/update-comment":
		return (*Server).updateComment
	case "issues/get-comment":
		return (*Server).getComment
	case "issues/delete-comment":
		return (*Server).deleteComment
	case "issues/list-comments":
		return (*Server).listComments
	case "issues/create":
		return (*Server).createIssue
	case "issues/update":
		return (*Server).updateIssue
	case "issues/get":
		return (*Server).getIssue
	case "issues/list-for-repo":
		return (*Server).listIssues
	case "reactions/create-for-issue-comment":
		return (*Server).createReaction
	case "reactions/list-for-issue-comment":
		return (*Server).listReactions
	case "checks/create":
		return (*Server).createCheckRun
	case "checks/update":
		return (*Server).updateCheckRun
	case "checks/get":
		return (*Server).getCheckRun
	case "checks/list-for-ref":
		return (*Server).listCheckRuns
	case "pulls/get":
		return (*Server).getPull
	case "pulls/list":
		return (*Server).listPulls
	case "pulls/create":
		return (*Server).createPull
	case "pulls/list-files":
		return (*Server).listPullFiles
	case "pulls/list-reviews":
		return (*Server).listReviews
	case "repos/get":
		return (*Server).getRepo
	case "repos/get-collaborator-permission-level":
		return (*Server).getPermission
	case "repos/create-deployment":
		return (*Server).createDeployment
	case "repos/list-deployments":
		return (*Server).listDeployments
	case "repos/create-deployment-status":
		return (*Server).createDeploymentStatus
	case "repos/list-deployment-statuses":
		return (*Server).listDeploymentStatuses
	case "git/get-ref":
		return (*Server).getRef
	}
	return nil
}

// ---- request helpers -------------------------------------------------------

func (rq *request) id(name string) (int64, bool) {
	n, err := strconv.ParseInt(rq.params[name], 10, 64)
	return n, err == nil && n > 0
}

func (rq *request) decode(w http.ResponseWriter, v any) bool {
	if len(strings.TrimSpace(string(rq.body))) == 0 {
		return true
	}
	if err := json.Unmarshal(rq.body, v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON: "+err.Error(), docURL(rq.op))
		return false
	}
	return true
}

func notFound(w http.ResponseWriter, rq *request) {
	writeError(w, http.StatusNotFound, "Not Found", docURL(rq.op))
}

// invalid is GitHub's answer to a request its schema rejects.
func invalid(w http.ResponseWriter, rq *request, format string, args ...any) {
	writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n"+fmt.Sprintf(format, args...), docURL(rq.op))
}

// validationFailed is GitHub's answer to a request its model rejects.
func validationFailed(w http.ResponseWriter, rq *request, errs ...fieldError) {
	writeError(w, http.StatusUnprocessableEntity, "Validation Failed", docURL(rq.op), errs...)
}

// repoFor finds the request's repository as the caller's installation sees
// it: GitHub answers 404 for repositories a token cannot see. The caller
// holds s.mu.
func (s *Server) repoFor(w http.ResponseWriter, rq *request) *repoState {
	rs, ok := s.repos[repoKey(rq.params["owner"], rq.params["repo"])]
	if !ok || (rq.installationID != 0 && rs.InstallationID != rq.installationID) {
		notFound(w, rq)
		return nil
	}
	return rs
}

func (s *Server) itemFor(w http.ResponseWriter, rq *request, param string) (*repoState, *item) {
	rs := s.repoFor(w, rq)
	if rs == nil {
		return nil, nil
	}
	n, ok := rq.id(param)
	it := rs.items[int(n)]
	if !ok || it == nil {
		notFound(w, rq)
		return nil, nil
	}
	return rs, it
}

// paginate serves one page of items the way GitHub does: per_page (default
// 30, at most 100), page (from 1), and a Link header to the other pages.
func paginate[T any](w http.ResponseWriter, rq *request, items []T) []T {
	q := rq.r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max((len(items)+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		u := url.URL{Scheme: "http", Host: rq.r.Host, Path: rq.r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, len(items))
	return items[start:min(start+perPage, len(items))]
}

// ---- JSON shapes -------------------------------------------------------------

func (s *Server) api(format string, args ...any) string {
	return s.srv.URL + "/" + fmt.Sprintf(format, args...)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func orNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nodeID builds a legacy GraphQL node id, the form the examples carry.
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%03d:%s%d", len(kind), kind, id))
}

func (s *Server) botLogin() string { return s.appSlug + "[bot]" }

func (s *Server) userJSON(login string) map[string]any {
	id := stableID("user:" + strings.ToLower(login))
	kind := "User"
	if strings.HasSuffix(login, "[bot]") {
		kind = "Bot"
	}
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID(kind, id),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id),
		"gravatar_id": "", "url": s.api("users/%s", login), "html_url": "https://github.com/" + login,
		"type": kind, "site_admin": false,
	}
}

func (s *Server) repoJSON(r Repo) map[string]any {
	full := r.FullName()
	return map[string]any{
		"id": r.ID, "node_id": nodeID("Repository", r.ID), "name": r.Name, "full_name": full,
		"owner": s.userJSON(r.Owner), "private": r.Private, "html_url": "https://github.com/" + full,
		"description": nil, "fork": false, "url": s.api("repos/%s", full),
		"clone_url": r.CloneURL, "git_url": "git://github.com/" + full + ".git",
		"ssh_url": "git@github.com:" + full + ".git", "default_branch": r.DefaultBranch,
		"visibility": map[bool]string{true: "private", false: "public"}[r.Private],
		"archived":   false, "disabled": false,
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z", "pushed_at": "2024-01-01T00:00:00Z",
	}
}

func (s *Server) labelsJSON(rs *repoState, names []string) []any {
	out := []any{}
	for _, n := range names {
		id := stableID("label:" + rs.FullName() + ":" + n)
		out = append(out, map[string]any{
			"id": id, "node_id": nodeID("Label", id), "url": s.api("repos/%s/labels/%s", rs.FullName(), url.PathEscape(n)),
			"name": n, "color": "ededed", "default": false, "description": nil,
		})
	}
	return out
}

func (s *Server) usersJSON(logins []string) []any {
	out := []any{}
	for _, l := range logins {
		out = append(out, s.userJSON(l))
	}
	return out
}

func (s *Server) issueJSON(rs *repoState, it *item) map[string]any {
	full := rs.FullName()
	kind := "issues"
	if it.pr != nil {
		kind = "pull"
	}
	var assignee any
	if len(it.assignees) > 0 {
		assignee = s.userJSON(it.assignees[0])
	}
	m := map[string]any{
		"url":            s.api("repos/%s/issues/%d", full, it.number),
		"repository_url": s.api("repos/%s", full),
		"labels_url":     s.api("repos/%s/issues/%d/labels{/name}", full, it.number),
		"comments_url":   s.api("repos/%s/issues/%d/comments", full, it.number),
		"events_url":     s.api("repos/%s/issues/%d/events", full, it.number),
		"html_url":       fmt.Sprintf("https://github.com/%s/%s/%d", full, kind, it.number),
		"id":             it.id, "node_id": nodeID("Issue", it.id), "number": it.number,
		"title": it.title, "user": s.userJSON(it.user), "labels": s.labelsJSON(rs, it.labels),
		"state": it.state, "state_reason": nil, "locked": false, "assignee": assignee,
		"assignees": s.usersJSON(it.assignees), "milestone": nil,
		"comments":   len(s.commentsOn(repoKey(rs.Owner, rs.Name), it.number)),
		"created_at": ts(it.created), "updated_at": ts(it.updated), "closed_at": ts(it.closed),
		"author_association": "NONE", "active_lock_reason": nil, "body": orNil(it.body),
	}
	if it.state == "closed" {
		m["state_reason"] = "completed"
	}
	if it.pr != nil {
		html := fmt.Sprintf("https://github.com/%s/pull/%d", full, it.number)
		var mergedAt any
		if it.pr.Merged {
			mergedAt = ts(it.closed)
		}
		m["pull_request"] = map[string]any{
			"url": s.api("repos/%s/pulls/%d", full, it.number), "html_url": html,
			"diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": mergedAt,
		}
		m["draft"] = it.pr.Draft
	}
	return m
}

func (s *Server) branchJSON(r Repo, ref, sha string) map[string]any {
	return map[string]any{
		"label": r.Owner + ":" + ref, "ref": ref, "sha": sha, "user": s.userJSON(r.Owner), "repo": s.repoJSON(r),
	}
}

func (s *Server) pullJSON(rs *repoState, it *item) map[string]any {
	pr := it.pr
	full := rs.FullName()
	html := fmt.Sprintf("https://github.com/%s/pull/%d", full, it.number)
	headRepo := rs.Repo
	if pr.HeadRepo != nil {
		headRepo = pr.HeadRepo.withDefaults()
	}
	var mergedAt, mergedBy, mergeable any
	mergeableState := "clean"
	if pr.Merged {
		mergedAt = ts(it.closed)
		mergedBy = s.userJSON(pr.MergedBy)
		mergeableState = "unknown"
	} else if it.state == "open" {
		mergeable = true
	}
	if pr.Draft {
		mergeableState = "draft"
	}
	adds, dels := 0, 0
	for _, f := range pr.Files {
		adds += f.Additions
		dels += f.Deletions
	}
	return map[string]any{
		"url": s.api("repos/%s/pulls/%d", full, it.number), "id": it.id, "node_id": nodeID("PullRequest", it.id),
		"html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch",
		"issue_url": s.api("repos/%s/issues/%d", full, it.number), "number": it.number,
		"state": it.state, "locked": false, "title": it.title, "user": s.userJSON(it.user), "body": orNil(it.body),
		"labels": s.labelsJSON(rs, it.labels), "milestone": nil, "active_lock_reason": nil,
		"created_at": ts(it.created), "updated_at": ts(it.updated), "closed_at": ts(it.closed), "merged_at": mergedAt,
		"merge_commit_sha": orNil(pr.MergeCommitSHA), "assignee": nil, "assignees": s.usersJSON(it.assignees),
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"commits_url":         s.api("repos/%s/pulls/%d/commits", full, it.number),
		"review_comments_url": s.api("repos/%s/pulls/%d/comments", full, it.number),
		"comments_url":        s.api("repos/%s/issues/%d/comments", full, it.number),
		"statuses_url":        s.api("repos/%s/statuses/%s", full, pr.HeadSHA),
		"head":                s.branchJSON(headRepo, pr.HeadRef, pr.HeadSHA),
		"base":                s.branchJSON(rs.Repo, pr.BaseRef, pr.BaseSHA),
		"author_association":  "CONTRIBUTOR", "auto_merge": nil, "draft": pr.Draft,
		"merged": pr.Merged, "mergeable": mergeable, "rebaseable": mergeable, "mergeable_state": mergeableState,
		"merged_by": mergedBy, "comments": len(s.commentsOn(repoKey(rs.Owner, rs.Name), it.number)),
		"review_comments": 0, "maintainer_can_modify": false, "commits": 1,
		"additions": adds, "deletions": dels, "changed_files": len(pr.Files),
	}
}

func (s *Server) commentJSON(rs *repoState, c *commentState) map[string]any {
	full := rs.FullName()
	var app any
	if c.User == s.botLogin() {
		app = s.appJSON()
	}
	counts := map[string]any{"url": s.api("repos/%s/issues/comments/%d/reactions", full, c.ID), "total_count": 0}
	for _, k := range []string{"+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"} {
		counts[k] = 0
	}
	for _, r := range s.reactions[c.ID] {
		counts[r.Content] = counts[r.Content].(int) + 1
		counts["total_count"] = counts["total_count"].(int) + 1
	}
	return map[string]any{
		"url": s.api("repos/%s/issues/comments/%d", full, c.ID), "html_url": c.HTMLURL,
		"issue_url": s.api("repos/%s/issues/%d", full, c.Number), "id": c.ID,
		"node_id": nodeID("IssueComment", c.ID), "user": s.userJSON(c.User),
		"created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt), "author_association": "NONE",
		"body": c.Body, "performed_via_github_app": app, "reactions": counts,
	}
}

func (s *Server) appJSON() map[string]any {
	return map[string]any{
		"id": s.appID, "slug": s.appSlug, "node_id": nodeID("App", s.appID), "client_id": fmt.Sprintf("Iv1.%016x", s.appID),
		"owner": s.userJSON("ferry-gitops"), "name": s.appSlug, "description": "",
		"external_url": "https://github.com/apps/" + s.appSlug, "html_url": "https://github.com/apps/" + s.appSlug,
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
		"permissions": defaultPermissions(),
		"events":      []string{"check_run", "issue_comment", "pull_request", "pull_request_review", "push"},
	}
}

func defaultPermissions() map[string]string {
	return map[string]string{
		"checks": "write", "contents": "write", "deployments": "write", "issues": "write",
		"metadata": "read", "pull_requests": "write", "statuses": "write",
	}
}

func (s *Server) installationJSON(id int64, account string) map[string]any {
	return map[string]any{
		"id": id, "account": s.userJSON(account), "repository_selection": "selected",
		"access_tokens_url": s.api("app/installations/%d/access_tokens", id),
		"repositories_url":  s.api("installation/repositories"),
		"html_url":          fmt.Sprintf("https://github.com/settings/installations/%d", id),
		"app_id":            s.appID, "app_slug": s.appSlug, "target_id": stableID("user:" + strings.ToLower(account)),
		"target_type": "User", "permissions": defaultPermissions(), "events": []string{},
		"created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
		"single_file_name": nil, "suspended_at": nil, "suspended_by": nil,
	}
}

// ---- apps ------------------------------------------------------------------

func (s *Server) getApp(w http.ResponseWriter, rq *request) {
	writeJSON(w, http.StatusOK, s.appJSON())
}

func (s *Server) createInstallationToken(w http.ResponseWriter, rq *request) {
	var in struct {
		Repositories []string          `json:"repositories"`
		Permissions  map[string]string `json:"permissions"`
	}
	if !rq.decode(w, &in) {
		return
	}
	id, _ := rq.id("installation_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.installations[id] {
		notFound(w, rq)
		return
	}
	buf := make([]byte, 27)
	_, _ = rand.Read(buf)
	tok := "ghs_" + base64.RawURLEncoding.EncodeToString(buf)[:36]
	expires := now().Add(time.Hour)
	s.tokens[tok] = tokenInfo{installationID: id, expires: expires}
	perms := in.Permissions
	if perms == nil {
		perms = defaultPermissions()
	}
	out := map[string]any{
		"token": tok, "expires_at": ts(expires), "permissions": perms, "repository_selection": "all",
	}
	if len(in.Repositories) > 0 {
		out["repository_selection"] = "selected"
		var repos []any
		for _, rs := range s.repos {
			if slices.Contains(in.Repositories, rs.Name) && rs.InstallationID == id {
				repos = append(repos, s.repoJSON(rs.Repo))
			}
		}
		out["repositories"] = repos
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getInstallation(w http.ResponseWriter, rq *request) {
	id, _ := rq.id("installation_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.installations[id] {
		notFound(w, rq)
		return
	}
	account := "octocat"
	for _, rs := range s.repos {
		if rs.InstallationID == id {
			account = rs.Owner
			break
		}
	}
	writeJSON(w, http.StatusOK, s.installationJSON(id, account))
}

func (s *Server) getRepoInstallation(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(rs.InstallationID, rs.Owner))
}

// ---- issues and comments -----------------------------------------------------

// maxCommentBody is GitHub's limit on issue and comment bodies, in characters.
const maxCommentBody = 65536

func bodyTooLong(w http.ResponseWriter, rq *request, resource, body string) bool {
	if runeLen(body) <= maxCommentBody {
		return false
	}
	validationFailed(w, rq, fieldError{
		Resource: resource, Code: "unprocessable", Field: "data",
		Message: fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentBody),
	})
	return true
}

func (s *Server) createComment(w http.ResponseWriter, rq *request) {
	var in struct {
		Body string `json:"body"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, it := s.itemFor(w, rq, "issue_number")
	if it == nil || bodyTooLong(w, rq, "IssueComment", in.Body) {
		return
	}
	c := s.addComment(rs, it, s.botLogin(), in.Body)
	w.Header().Set("Location", s.api("repos/%s/issues/comments/%d", rs.FullName(), c.ID))
	writeJSON(w, http.StatusCreated, s.commentJSON(rs, c))
}

// commentFor finds the comment_id of a request in its repository; the
// caller holds s.mu.
func (s *Server) commentFor(w http.ResponseWriter, rq *request) (*repoState, *commentState) {
	rs := s.repoFor(w, rq)
	if rs == nil {
		return nil, nil
	}
	id, _ := rq.id("comment_id")
	c, ok := s.comments[id]
	if !ok || c.repo != repoKey(rs.Owner, rs.Name) {
		notFound(w, rq)
		return nil, nil
	}
	return rs, c
}

func (s *Server) updateComment(w http.ResponseWriter, rq *request) {
	var in struct {
		Body string `json:"body"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, c := s.commentFor(w, rq)
	if c == nil || bodyTooLong(w, rq, "IssueComment", in.Body) {
		return
	}
	c.Body = in.Body
	c.UpdatedAt = now()
	writeJSON(w, http.StatusOK, s.commentJSON(rs, c))
}

func (s *Server) getComment(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs, c := s.commentFor(w, rq); c != nil {
		writeJSON(w, http.StatusOK, s.commentJSON(rs, c))
	}
}

func (s *Server) deleteComment(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, c := s.commentFor(w, rq); c != nil {
		delete(s.comments, c.ID)
		delete(s.reactions, c.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) listComments(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, it := s.itemFor(w, rq, "issue_number")
	if it == nil {
		return
	}
	var since time.Time
	if v := rq.r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, rq, "since: %v", err)
			return
		}
		since = t
	}
	var list []any
	for _, c := range s.commentsOn(repoKey(rs.Owner, rs.Name), it.number) {
		if !c.UpdatedAt.Before(since) {
			list = append(list, s.commentJSON(rs, s.comments[c.ID]))
		}
	}
	writeJSON(w, http.StatusOK, nonNil(paginate(w, rq, list)))
}

// labelNames accepts GitHub's two label forms: names and {"name": ...}.
func labelNames(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var name string
		if json.Unmarshal(r, &name) != nil {
			var obj struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(r, &obj)
			name = obj.Name
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func (s *Server) createIssue(w http.ResponseWriter, rq *request) {
	var in struct {
		Title     any               `json:"title"`
		Body      string            `json:"body"`
		Labels    []json.RawMessage `json:"labels"`
		Assignees []string          `json:"assignees"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil || bodyTooLong(w, rq, "Issue", in.Body) {
		return
	}
	title := fmt.Sprint(in.Title)
	if strings.TrimSpace(title) == "" {
		validationFailed(w, rq, fieldError{Resource: "Issue", Code: "missing_field", Field: "title"})
		return
	}
	t := now()
	it := &item{
		id: s.newID(), number: rs.nextNumber + 1, title: title, body: in.Body, state: "open", user: s.botLogin(),
		labels: labelNames(in.Labels), assignees: in.Assignees, created: t, updated: t,
	}
	rs.addItem(it)
	w.Header().Set("Location", s.api("repos/%s/issues/%d", rs.FullName(), it.number))
	writeJSON(w, http.StatusCreated, s.issueJSON(rs, it))
}

func (s *Server) updateIssue(w http.ResponseWriter, rq *request) {
	var in struct {
		Title     *string            `json:"title"`
		Body      *string            `json:"body"`
		State     *string            `json:"state"`
		Labels    *[]json.RawMessage `json:"labels"`
		Assignees *[]string          `json:"assignees"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, it := s.itemFor(w, rq, "issue_number")
	if it == nil {
		return
	}
	if in.Body != nil && bodyTooLong(w, rq, "Issue", *in.Body) {
		return
	}
	t := now()
	if in.Title != nil {
		it.title = *in.Title
	}
	if in.Body != nil {
		it.body = *in.Body
	}
	if in.State != nil && *in.State != it.state {
		it.state = *in.State
		it.closed = time.Time{}
		if it.state == "closed" {
			it.closed = t
		}
		if it.pr != nil {
			it.pr.State = it.state
		}
	}
	if in.Labels != nil {
		it.labels = labelNames(*in.Labels)
	}
	if in.Assignees != nil {
		it.assignees = slices.Clone(*in.Assignees)
	}
	it.updated = t
	writeJSON(w, http.StatusOK, s.issueJSON(rs, it))
}

func (s *Server) getIssue(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs, it := s.itemFor(w, rq, "issue_number"); it != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(rs, it))
	}
}

// stateMatches applies GitHub's state filter, which defaults to open.
func stateMatches(filter, state string) bool {
	switch filter {
	case "", "open":
		return state == "open"
	case "closed":
		return state == "closed"
	}
	return true
}

// sortItems orders by created or updated, newest first unless asked, as
// GitHub's list endpoints do.
func sortItems(items []*item, q url.Values) {
	key := func(it *item) time.Time { return it.created }
	if q.Get("sort") == "updated" {
		key = func(it *item) time.Time { return it.updated }
	}
	asc := q.Get("direction") == "asc"
	sort.SliceStable(items, func(i, j int) bool {
		a, b := key(items[i]), key(items[j])
		if a.Equal(b) {
			a, b = time.Unix(int64(items[i].number), 0), time.Unix(int64(items[j].number), 0)
		}
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	})
}

func (s *Server) listIssues(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	q := rq.r.URL.Query()
	var want []string
	if v := q.Get("labels"); v != "" {
		for _, l := range strings.Split(v, ",") {
			want = append(want, strings.TrimSpace(l))
		}
	}
	var items []*item
	for _, it := range s.sortedItems(rs.Owner, rs.Name) {
		if !stateMatches(q.Get("state"), it.state) {
			continue
		}
		if c := q.Get("creator"); c != "" && !strings.EqualFold(c, it.user) {
			continue
		}
		if !hasLabels(it.labels, want) {
			continue
		}
		items = append(items, it)
	}
	sortItems(items, q)
	var list []any
	for _, it := range paginate(w, rq, items) {
		list = append(list, s.issueJSON(rs, it))
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

func hasLabels(have, want []string) bool {
	for _, wl := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, wl) }) {
			return false
		}
	}
	return true
}

func nonNil(list []any) []any {
	if list == nil {
		return []any{}
	}
	return list
}

// ---- reactions ---------------------------------------------------------------

func (s *Server) reactionJSON(r Reaction) map[string]any {
	return map[string]any{
		"id": r.ID, "node_id": nodeID("Reaction", r.ID), "user": s.userJSON(r.User),
		"content": r.Content, "created_at": ts(now()),
	}
}

func (s *Server) createReaction(w http.ResponseWriter, rq *request) {
	var in struct {
		Content string `json:"content"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c := s.commentFor(w, rq)
	if c == nil {
		return
	}
	for _, r := range s.reactions[c.ID] {
		if r.Content == in.Content && r.User == s.botLogin() {
			// GitHub answers 200 with the existing reaction.
			writeJSON(w, http.StatusOK, s.reactionJSON(r))
			return
		}
	}
	r := Reaction{ID: s.newID(), Content: in.Content, User: s.botLogin()}
	s.reactions[c.ID] = append(s.reactions[c.ID], r)
	writeJSON(w, http.StatusCreated, s.reactionJSON(r))
}

func (s *Server) listReactions(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c := s.commentFor(w, rq)
	if c == nil {
		return
	}
	content := rq.r.URL.Query().Get("content")
	var list []any
	for _, r := range s.reactions[c.ID] {
		if content == "" || r.Content == content {
			list = append(list, s.reactionJSON(r))
		}
	}
	writeJSON(w, http.StatusOK, nonNil(paginate(w, rq, list)))
}

// ---- checks ------------------------------------------------------------------

// Check run limits, as GitHub enforces them.
const (
	maxAnnotationsPerRequest = 50
	maxCheckOutput           = 65535
	maxCheckActions          = 3
)

type checkRunInput struct {
	Name        *string          `json:"name"`
	HeadSHA     *string          `json:"head_sha"`
	DetailsURL  *string          `json:"details_url"`
	ExternalID  *string          `json:"external_id"`
	Status      *string          `json:"status"`
	Conclusion  *string          `json:"conclusion"`
	StartedAt   *string          `json:"started_at"`
	CompletedAt *string          `json:"completed_at"`
	Output      *checkRunOutput  `json:"output"`
	Actions     []map[string]any `json:"actions"`
}

type checkRunOutput struct {
	Title       *string          `json:"title"`
	Summary     *string          `json:"summary"`
	Text        *string          `json:"text"`
	Annotations []map[string]any `json:"annotations"`
}

// validate answers 422 as GitHub does when the input breaks a check run
// limit, and returns the parsed annotations and actions.
func (in *checkRunInput) validate(w http.ResponseWriter, rq *request, create bool) ([]Annotation, []CheckRunAction, bool) {
	if in.Status != nil && *in.Status == "completed" && in.Conclusion == nil {
		invalid(w, rq, "\"conclusion\" wasn't supplied; it is required when status is \"completed\".")
		return nil, nil, false
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"started_at", in.StartedAt}, {"completed_at", in.CompletedAt}} {
		if f.v != nil {
			if _, err := time.Parse(time.RFC3339, *f.v); err != nil {
				invalid(w, rq, "%q is not a timestamp (ISO 8601): %s", *f.v, f.name)
				return nil, nil, false
			}
		}
	}
	var anns []Annotation
	if in.Output != nil {
		var ok bool
		if anns, ok = in.Output.validate(w, rq, create); !ok {
			return nil, nil, false
		}
	}
	actions, ok := validateActions(w, rq, in.Actions)
	if !ok {
		return nil, nil, false
	}
	return anns, actions, true
}

// validate checks a check run's output and returns its annotations.
func (o *checkRunOutput) validate(w http.ResponseWriter, rq *request, create bool) ([]Annotation, bool) {
	if create && o.Title == nil {
		invalid(w, rq, "\"title\" wasn't supplied.")
		return nil, false
	}
	if o.Summary == nil {
		invalid(w, rq, "\"summary\" wasn't supplied.")
		return nil, false
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"summary", o.Summary}, {"text", o.Text}} {
		if f.v == nil {
			continue
		}
		if n := runeLen(*f.v); n > maxCheckOutput {
			invalid(w, rq, "Only %d characters are allowed; %d were supplied.", maxCheckOutput, n)
			return nil, false
		}
		// GitHub's model also counts bytes, which bites multi-byte text
		// that the character limit lets through.
		if len(*f.v) > maxCheckOutput {
			validationFailed(w, rq, fieldError{Resource: "CheckRun", Code: "custom", Field: f.name,
				Message: fmt.Sprintf("%s exceeds a maximum bytesize of %d", f.name, maxCheckOutput)})
			return nil, false
		}
	}
	if n := len(o.Annotations); n > maxAnnotationsPerRequest {
		invalid(w, rq, "No more than %d items are allowed; %d were supplied.", maxAnnotationsPerRequest, n)
		return nil, false
	}
	var anns []Annotation
	for _, a := range o.Annotations {
		ann, ok := validateAnnotation(w, rq, a)
		if !ok {
			return nil, false
		}
		anns = append(anns, ann)
	}
	return anns, true
}

func validateAnnotation(w http.ResponseWriter, rq *request, a map[string]any) (Annotation, bool) {
	for _, req := range []string{"path", "start_line", "end_line", "annotation_level", "message"} {
		if _, ok := a[req]; !ok {
			invalid(w, rq, "%q wasn't supplied.", req)
			return Annotation{}, false
		}
	}
	if lvl, _ := a["annotation_level"].(string); !slices.Contains([]string{"notice", "warning", "failure"}, lvl) {
		invalid(w, rq, "%q is not a member of [\"notice\", \"warning\", \"failure\"].", lvl)
		return Annotation{}, false
	}
	var ann Annotation
	raw, _ := json.Marshal(a)
	if err := json.Unmarshal(raw, &ann); err != nil {
		invalid(w, rq, "annotation: %v", err)
		return Annotation{}, false
	}
	return ann, true
}

func validateActions(w http.ResponseWriter, rq *request, in []map[string]any) ([]CheckRunAction, bool) {
	if n := len(in); n > maxCheckActions {
		invalid(w, rq, "No more than %d items are allowed; %d were supplied.", maxCheckActions, n)
		return nil, false
	}
	var actions []CheckRunAction
	for _, a := range in {
		var act CheckRunAction
		raw, _ := json.Marshal(a)
		if err := json.Unmarshal(raw, &act); err != nil {
			invalid(w, rq, "action: %v", err)
			return nil, false
		}
		for _, f := range []struct {
			v   string
			max int
		}{{act.Label, 20}, {act.Description, 40}, {act.Identifier, 20}} {
			if f.v == "" {
				invalid(w, rq, "actions need a label, description and identifier.")
				return nil, false
			}
			if n := runeLen(f.v); n > f.max {
				invalid(w, rq, "Only %d characters are allowed; %d were supplied.", f.max, n)
				return nil, false
			}
		}
		actions = append(actions, act)
	}
	return actions, true
}

func (in *checkRunInput) apply(cr *CheckRun, anns []Annotation, actions []CheckRunAction) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if in.Name != nil && *in.Name != "" {
		// go-github always sends "name" on update, empty when unchanged.
		cr.Name = *in.Name
	}
	set(&cr.DetailsURL, in.DetailsURL)
	set(&cr.ExternalID, in.ExternalID)
	set(&cr.Status, in.Status)
	if in.StartedAt != nil {
		cr.StartedAt, _ = time.Parse(time.RFC3339, *in.StartedAt)
	}
	if in.CompletedAt != nil {
		cr.CompletedAt, _ = time.Parse(time.RFC3339, *in.CompletedAt)
	}
	if in.Conclusion != nil {
		// Providing a conclusion completes the run, per GitHub's docs.
		cr.Conclusion = *in.Conclusion
		cr.Status = "completed"
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now()
	}
	if o := in.Output; o != nil {
		set(&cr.Title, o.Title)
		set(&cr.Summary, o.Summary)
		set(&cr.Text, o.Text)
	}
	cr.Annotations = append(cr.Annotations, anns...)
	if in.Actions != nil {
		cr.Actions = actions
	}
}

func (s *Server) checkRunJSON(rs *repoState, cr *CheckRun) map[string]any {
	full := rs.FullName()
	prs := []any{}
	for _, it := range s.sortedItems(rs.Owner, rs.Name) {
		if it.pr != nil && it.state == "open" && it.pr.HeadSHA == cr.HeadSHA {
			repoRef := map[string]any{"id": rs.ID, "url": s.api("repos/%s", full), "name": rs.Name}
			prs = append(prs, map[string]any{
				"url": s.api("repos/%s/pulls/%d", full, it.number), "id": it.id, "number": it.number,
				"head": map[string]any{"ref": it.pr.HeadRef, "sha": it.pr.HeadSHA, "repo": repoRef},
				"base": map[string]any{"ref": it.pr.BaseRef, "sha": it.pr.BaseSHA, "repo": repoRef},
			})
		}
	}
	var actions []any
	for _, a := range cr.Actions {
		actions = append(actions, a)
	}
	return map[string]any{
		"id": cr.ID, "head_sha": cr.HeadSHA, "node_id": nodeID("CheckRun", cr.ID), "external_id": cr.ExternalID,
		"url":      s.api("repos/%s/check-runs/%d", full, cr.ID),
		"html_url": fmt.Sprintf("https://github.com/%s/runs/%d", full, cr.ID), "details_url": cr.DetailsURL,
		"status": cr.Status, "conclusion": orNil(cr.Conclusion),
		"started_at": ts(cr.StartedAt), "completed_at": ts(cr.CompletedAt),
		"output": map[string]any{
			"title": orNil(cr.Title), "summary": orNil(cr.Summary), "text": orNil(cr.Text),
			"annotations_count": len(cr.Annotations),
			"annotations_url":   s.api("repos/%s/check-runs/%d/annotations", full, cr.ID),
		},
		"name": cr.Name, "check_suite": map[string]any{"id": stableID("suite:" + full + ":" + cr.HeadSHA)},
		"app": s.appJSON(), "pull_requests": prs, "actions": nonNil(actions),
	}
}

func isSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func (s *Server) createCheckRun(w http.ResponseWriter, rq *request) {
	var in checkRunInput
	if !rq.decode(w, &in) {
		return
	}
	anns, actions, ok := in.validate(w, rq, true)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	if !isSHA(*in.HeadSHA) {
		validationFailed(w, rq, fieldError{Resource: "CheckRun", Code: "invalid", Field: "head_sha",
			Message: "No commit found for SHA: " + *in.HeadSHA})
		return
	}
	cr := &CheckRun{ID: s.newID(), HeadSHA: strings.ToLower(*in.HeadSHA), Status: "queued"}
	in.apply(cr, anns, actions)
	if cr.StartedAt.IsZero() {
		cr.StartedAt = now()
	}
	rs.checkRuns = append(rs.checkRuns, cr)
	writeJSON(w, http.StatusCreated, s.checkRunJSON(rs, cr))
}

func (s *Server) checkRunFor(w http.ResponseWriter, rq *request) (*repoState, *CheckRun) {
	rs := s.repoFor(w, rq)
	if rs == nil {
		return nil, nil
	}
	id, _ := rq.id("check_run_id")
	for _, cr := range rs.checkRuns {
		if cr.ID == id {
			return rs, cr
		}
	}
	notFound(w, rq)
	return nil, nil
}

func (s *Server) updateCheckRun(w http.ResponseWriter, rq *request) {
	var in checkRunInput
	if !rq.decode(w, &in) {
		return
	}
	anns, actions, ok := in.validate(w, rq, false)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, cr := s.checkRunFor(w, rq)
	if cr == nil {
		return
	}
	in.apply(cr, anns, actions)
	cr.Updates++
	writeJSON(w, http.StatusOK, s.checkRunJSON(rs, cr))
}

func (s *Server) getCheckRun(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs, cr := s.checkRunFor(w, rq); cr != nil {
		writeJSON(w, http.StatusOK, s.checkRunJSON(rs, cr))
	}
}

func (s *Server) listCheckRuns(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	sha, ok := s.resolveRef(rs, rq.params["ref"])
	if !ok {
		validationFailed(w, rq, fieldError{Resource: "Commit", Code: "invalid", Field: "ref",
			Message: "No commit found for SHA: " + rq.params["ref"]})
		return
	}
	q := rq.r.URL.Query()
	var runs []*CheckRun
	for _, cr := range rs.checkRuns {
		if cr.HeadSHA != sha {
			continue
		}
		if n := q.Get("check_name"); n != "" && n != cr.Name {
			continue
		}
		if st := q.Get("status"); st != "" && st != cr.Status {
			continue
		}
		if app := q.Get("app_id"); app != "" && app != strconv.FormatInt(s.appID, 10) {
			continue
		}
		runs = append(runs, cr)
	}
	// GitHub's default filter is "latest": the newest run of each name.
	if q.Get("filter") != "all" {
		latest := map[string]*CheckRun{}
		for _, cr := range runs {
			latest[cr.Name] = cr
		}
		runs = slices.DeleteFunc(runs, func(cr *CheckRun) bool { return latest[cr.Name] != cr })
	}
	slices.Reverse(runs)
	list := []any{}
	for _, cr := range paginate(w, rq, runs) {
		list = append(list, s.checkRunJSON(rs, cr))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(runs), "check_runs": list})
}

// resolveRef turns a commit SHA, a branch name or refs/heads/<branch> into
// a SHA; the caller holds s.mu.
func (s *Server) resolveRef(rs *repoState, ref string) (string, bool) {
	if isSHA(ref) {
		return strings.ToLower(ref), true
	}
	branch := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
	if sha, ok := rs.branches[branch]; ok {
		return sha, true
	}
	if s.resolver != nil {
		if sha, err := s.resolver(rs.Owner, rs.Name, branch); err == nil && sha != "" {
			return sha, true
		}
	}
	for _, it := range s.sortedItems(rs.Owner, rs.Name) {
		if it.pr == nil || it.state != "open" {
			continue
		}
		if it.pr.HeadRepo == nil && it.pr.HeadRef == branch {
			return it.pr.HeadSHA, true
		}
		if it.pr.BaseRef == branch {
			return it.pr.BaseSHA, true
		}
	}
	return "", false
}

// ---- pulls -------------------------------------------------------------------

func (s *Server) pullFor(w http.ResponseWriter, rq *request) (*repoState, *item) {
	rs, it := s.itemFor(w, rq, "pull_number")
	if it != nil && it.pr == nil {
		notFound(w, rq)
		return nil, nil
	}
	return rs, it
}

func (s *Server) getPull(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs, it := s.pullFor(w, rq); it != nil {
		writeJSON(w, http.StatusOK, s.pullJSON(rs, it))
	}
}

func (s *Server) listPulls(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	q := rq.r.URL.Query()
	var items []*item
	for _, it := range s.sortedItems(rs.Owner, rs.Name) {
		if it.pr == nil || !stateMatches(q.Get("state"), it.state) {
			continue
		}
		if b := q.Get("base"); b != "" && b != it.pr.BaseRef {
			continue
		}
		// GitHub wants head as "user:ref-name" and silently ignores a bare
		// branch name, returning every pull request: a classic bug to catch.
		if hOwner, hRef, ok := strings.Cut(q.Get("head"), ":"); ok {
			owner := rs.Owner
			if it.pr.HeadRepo != nil {
				owner = it.pr.HeadRepo.Owner
			}
			if !strings.EqualFold(hOwner, owner) || hRef != it.pr.HeadRef {
				continue
			}
		}
		items = append(items, it)
	}
	sortItems(items, q)
	var list []any
	for _, it := range paginate(w, rq, items) {
		list = append(list, s.pullJSON(rs, it))
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

func (s *Server) createPull(w http.ResponseWriter, rq *request) {
	var in struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil || bodyTooLong(w, rq, "PullRequest", in.Body) {
		return
	}
	if in.Title == "" {
		validationFailed(w, rq, fieldError{Resource: "PullRequest", Code: "missing_field", Field: "title"})
		return
	}
	headRef := in.Head
	if owner, ref, ok := strings.Cut(in.Head, ":"); ok {
		if !strings.EqualFold(owner, rs.Owner) {
			validationFailed(w, rq, fieldError{Resource: "PullRequest", Code: "invalid", Field: "head"})
			return
		}
		headRef = ref
	}
	headSHA, okHead := s.resolveRef(rs, headRef)
	baseSHA, okBase := s.resolveRef(rs, in.Base)
	if !okHead || !okBase {
		field := "head"
		if !okBase {
			field = "base"
		}
		validationFailed(w, rq, fieldError{Resource: "PullRequest", Code: "invalid", Field: field})
		return
	}
	for _, it := range rs.items {
		if it.pr != nil && it.state == "open" && it.pr.HeadRepo == nil && it.pr.HeadRef == headRef && it.pr.BaseRef == in.Base {
			validationFailed(w, rq, fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", rs.Owner, headRef)})
			return
		}
	}
	t := now()
	pr := &PullRequest{HeadRef: headRef, HeadSHA: headSHA, BaseRef: in.Base, BaseSHA: baseSHA, Draft: in.Draft, CreatedAt: t}
	it := &item{
		id: s.newID(), number: rs.nextNumber + 1, title: in.Title, body: in.Body, state: "open",
		user: s.botLogin(), created: t, updated: t, pr: pr,
	}
	pr.Number = it.number
	rs.addItem(it)
	w.Header().Set("Location", s.api("repos/%s/pulls/%d", rs.FullName(), it.number))
	writeJSON(w, http.StatusCreated, s.pullJSON(rs, it))
}

func (s *Server) listPullFiles(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, it := s.pullFor(w, rq)
	if it == nil {
		return
	}
	var list []any
	for _, f := range paginate(w, rq, it.pr.Files) {
		status := f.Status
		if status == "" {
			status = "modified"
		}
		m := map[string]any{
			"sha": fakeSHA(f.Filename + f.Patch), "filename": f.Filename, "status": status,
			"additions": f.Additions, "deletions": f.Deletions, "changes": f.Additions + f.Deletions,
			"blob_url":     fmt.Sprintf("https://github.com/%s/blob/%s/%s", rs.FullName(), it.pr.HeadSHA, f.Filename),
			"raw_url":      fmt.Sprintf("https://github.com/%s/raw/%s/%s", rs.FullName(), it.pr.HeadSHA, f.Filename),
			"contents_url": s.api("repos/%s/contents/%s?ref=%s", rs.FullName(), f.Filename, it.pr.HeadSHA),
		}
		if f.Patch != "" {
			m["patch"] = f.Patch
		}
		if f.PreviousFilename != "" {
			m["previous_filename"] = f.PreviousFilename
		}
		list = append(list, m)
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

func (s *Server) listReviews(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, it := s.pullFor(w, rq)
	if it == nil {
		return
	}
	full := rs.FullName()
	var list []any
	for _, r := range paginate(w, rq, it.reviews) {
		html := fmt.Sprintf("https://github.com/%s/pull/%d#pullrequestreview-%d", full, it.number, r.ID)
		list = append(list, map[string]any{
			"id": r.ID, "node_id": nodeID("PullRequestReview", r.ID), "user": s.userJSON(r.User), "body": r.Body,
			"state": r.State, "html_url": html, "pull_request_url": s.api("repos/%s/pulls/%d", full, it.number),
			"author_association": "COLLABORATOR", "submitted_at": ts(r.SubmittedAt), "commit_id": r.CommitID,
			"_links": map[string]any{
				"html":         map[string]any{"href": html},
				"pull_request": map[string]any{"href": s.api("repos/%s/pulls/%d", full, it.number)},
			},
		})
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

// ---- repos -------------------------------------------------------------------

func (s *Server) getRepo(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rs := s.repoFor(w, rq); rs != nil {
		writeJSON(w, http.StatusOK, s.repoJSON(rs.Repo))
	}
}

func (s *Server) getPermission(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	user := rq.params["username"]
	role, ok := rs.perms[strings.ToLower(user)]
	if !ok {
		role = "read"
		if rs.Private {
			role = "none"
		}
	}
	perm, _ := legacyPermission(role)
	writeJSON(w, http.StatusOK, map[string]any{"permission": perm, "role_name": role, "user": s.userJSON(user)})
}

func (s *Server) getRef(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	ref := rq.params["ref"]
	branch, ok := strings.CutPrefix(ref, "heads/")
	sha := ""
	if ok {
		sha, ok = s.resolveRef(rs, branch)
	}
	if !ok {
		notFound(w, rq)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ref": "refs/" + ref, "node_id": nodeID("Ref", stableID(ref)),
		"url": s.api("repos/%s/git/refs/%s", rs.FullName(), ref),
		"object": map[string]any{
			"type": "commit", "sha": sha, "url": s.api("repos/%s/git/commits/%s", rs.FullName(), sha),
		},
	})
}

// ---- deployments -------------------------------------------------------------

func (s *Server) deploymentJSON(rs *repoState, d *Deployment) map[string]any {
	full := rs.FullName()
	var payload any = map[string]any{}
	if len(d.Payload) > 0 {
		payload = d.Payload
	}
	return map[string]any{
		"url": s.api("repos/%s/deployments/%d", full, d.ID), "id": d.ID, "node_id": nodeID("Deployment", d.ID),
		"sha": d.SHA, "ref": d.Ref, "task": d.Task, "payload": payload, "original_environment": d.Environment,
		"environment": d.Environment, "description": orNil(d.Description), "creator": s.userJSON(d.Creator),
		"created_at": ts(d.CreatedAt), "updated_at": ts(d.CreatedAt),
		"statuses_url":             s.api("repos/%s/deployments/%d/statuses", full, d.ID),
		"repository_url":           s.api("repos/%s", full),
		"transient_environment":    d.TransientEnvironment,
		"production_environment":   d.ProductionEnvironment,
		"performed_via_github_app": s.appJSON(),
	}
}

func (s *Server) deploymentStatusJSON(rs *repoState, d *Deployment, st DeploymentStatus) map[string]any {
	full := rs.FullName()
	return map[string]any{
		"url": s.api("repos/%s/deployments/%d/statuses/%d", full, d.ID, st.ID),
		"id":  st.ID, "node_id": nodeID("DeploymentStatus", st.ID), "state": st.State,
		"creator": s.userJSON(st.Creator), "description": st.Description, "environment": st.Environment,
		"target_url": st.LogURL, "log_url": st.LogURL, "environment_url": st.EnvironmentURL,
		"created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"deployment_url": s.api("repos/%s/deployments/%d", full, d.ID), "repository_url": s.api("repos/%s", full),
	}
}

func (s *Server) createDeployment(w http.ResponseWriter, rq *request) {
	var in struct {
		Ref                   string          `json:"ref"`
		Task                  *string         `json:"task"`
		Environment           *string         `json:"environment"`
		Description           string          `json:"description"`
		Payload               json.RawMessage `json:"payload"`
		TransientEnvironment  bool            `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	sha, ok := s.resolveRef(rs, in.Ref)
	if !ok {
		validationFailed(w, rq, fieldError{Resource: "Deployment", Code: "custom", Field: "ref",
			Message: "No ref found for: " + in.Ref})
		return
	}
	d := &Deployment{
		ID: s.newID(), Ref: in.Ref, SHA: sha, Task: "deploy", Environment: "production",
		Description: in.Description, TransientEnvironment: in.TransientEnvironment,
		Creator: s.botLogin(), CreatedAt: now(),
	}
	if in.Task != nil {
		d.Task = *in.Task
	}
	if in.Environment != nil {
		d.Environment = *in.Environment
	}
	d.ProductionEnvironment = d.Environment == "production"
	if in.ProductionEnvironment != nil {
		d.ProductionEnvironment = *in.ProductionEnvironment
	}
	if p := strings.TrimSpace(string(in.Payload)); p != "" && p != "null" && p != `""` {
		d.Payload = slices.Clone(in.Payload)
	}
	rs.deployments = append(rs.deployments, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(rs, d))
}

func (s *Server) deploymentFor(w http.ResponseWriter, rq *request) (*repoState, *Deployment) {
	rs := s.repoFor(w, rq)
	if rs == nil {
		return nil, nil
	}
	id, _ := rq.id("deployment_id")
	for _, d := range rs.deployments {
		if d.ID == id {
			return rs, d
		}
	}
	notFound(w, rq)
	return nil, nil
}

func (s *Server) listDeployments(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repoFor(w, rq)
	if rs == nil {
		return
	}
	q := rq.r.URL.Query()
	var ds []*Deployment
	for _, d := range slices.Backward(rs.deployments) {
		if (q.Get("sha") == "" || q.Get("sha") == d.SHA) && (q.Get("ref") == "" || q.Get("ref") == d.Ref) &&
			(q.Get("task") == "" || q.Get("task") == d.Task) &&
			(q.Get("environment") == "" || q.Get("environment") == d.Environment) {
			ds = append(ds, d)
		}
	}
	var list []any
	for _, d := range paginate(w, rq, ds) {
		list = append(list, s.deploymentJSON(rs, d))
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}

// maxDeploymentDescription is GitHub's limit on a status description.
const maxDeploymentDescription = 140

func (s *Server) createDeploymentStatus(w http.ResponseWriter, rq *request) {
	var in struct {
		State          string  `json:"state"`
		TargetURL      string  `json:"target_url"`
		LogURL         string  `json:"log_url"`
		Description    string  `json:"description"`
		Environment    *string `json:"environment"`
		EnvironmentURL string  `json:"environment_url"`
		AutoInactive   *bool   `json:"auto_inactive"`
	}
	if !rq.decode(w, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, d := s.deploymentFor(w, rq)
	if d == nil {
		return
	}
	if n := runeLen(in.Description); n > maxDeploymentDescription {
		validationFailed(w, rq, fieldError{Resource: "DeploymentStatus", Code: "custom", Field: "description",
			Message: fmt.Sprintf("description is too long (maximum is %d characters)", maxDeploymentDescription)})
		return
	}
	if in.Environment != nil {
		d.Environment = *in.Environment
	}
	logURL := in.LogURL
	if logURL == "" {
		logURL = in.TargetURL
	}
	st := DeploymentStatus{
		ID: s.newID(), State: in.State, Description: in.Description, Environment: d.Environment,
		EnvironmentURL: in.EnvironmentURL, LogURL: logURL, Creator: s.botLogin(), CreatedAt: now(),
	}
	d.Statuses = append(d.Statuses, st)
	// auto_inactive (default true): a successful deployment retires earlier
	// non-transient, non-production ones in the same environment.
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) {
		for _, other := range rs.deployments {
			if other == d || other.Environment != d.Environment || other.TransientEnvironment || other.ProductionEnvironment {
				continue
			}
			if n := len(other.Statuses); n > 0 && other.Statuses[n-1].State != "inactive" {
				other.Statuses = append(other.Statuses, DeploymentStatus{
					ID: s.newID(), State: "inactive", Environment: other.Environment, Creator: s.botLogin(), CreatedAt: st.CreatedAt,
				})
			}
		}
	}
	writeJSON(w, http.StatusCreated, s.deploymentStatusJSON(rs, d, st))
}

func (s *Server) listDeploymentStatuses(w http.ResponseWriter, rq *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, d := s.deploymentFor(w, rq)
	if d == nil {
		return
	}
	statuses := slices.Clone(d.Statuses)
	slices.Reverse(statuses)
	var list []any
	for _, st := range paginate(w, rq, statuses) {
		list = append(list, s.deploymentStatusJSON(rs, d, st))
	}
	writeJSON(w, http.StatusOK, nonNil(list))
}
