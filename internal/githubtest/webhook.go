package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// LoadPayload returns a fresh copy of an example webhook payload from
// testdata/github/webhooks, by file name with or without ".json"
// ("pull_request.opened"). Numbers are json.Number, so ids survive a
// round trip exactly.
func LoadPayload(t testing.TB, name string) map[string]any {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	file := filepath.Join(root, "testdata", "github", "webhooks", strings.TrimSuffix(name, ".json")+".json")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("githubtest: load payload: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("githubtest: parse %s: %v", file, err)
	}
	return p
}

// Sign is the X-Hub-Signature-256 header GitHub sends for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// signSHA1 is the legacy X-Hub-Signature header GitHub still sends.
func signSHA1(secret, body []byte) string {
	mac := hmac.New(sha1.New, secret)
	mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// Deliver POSTs a webhook delivery to url as GitHub does, signed with secret
// (unsigned when secret is empty). A deliveryID of "" gets a random one.
// The returned response's body is already read and may be ignored.
func Deliver(t testing.TB, url, secret, event string, body []byte, deliveryID string) *http.Response {
	t.Helper()
	if deliveryID == "" {
		deliveryID = randomUUID()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("githubtest: deliver %s: %v", event, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/githubtest")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", "1")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign([]byte(secret), body))
		req.Header.Set("X-Hub-Signature", signSHA1([]byte(secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("githubtest: deliver %s: %v", event, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("githubtest: deliver %s: read response: %v", event, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// PullRequestPayload builds a pull_request event from GitHub's example for
// the action (opened, synchronize, reopened, edited, closed,
// ready_for_review; any other action is built from opened), rewritten to
// repo and pr. A closed pr with Merged set uses the merged example.
func PullRequestPayload(t testing.TB, action string, repo Repo, pr PullRequest) []byte {
	t.Helper()
	name := "pull_request.opened"
	switch action {
	case "opened", "synchronize", "reopened", "edited", "closed", "ready_for_review":
		name = "pull_request." + action
	}
	if action == "closed" && pr.Merged {
		name = "pull_request.closed.merged"
	}
	p := LoadPayload(t, name)
	p["action"] = action
	repo, pr = repo.withDefaults(), withPayloadDefaults(pr, repo)
	setRepository(p, repo)
	setPullRequest(obj(p, "pull_request"), repo, pr)
	p["number"] = pr.Number
	switch action {
	case "synchronize":
		before := pr.BeforeSHA
		if before == "" {
			before = fakeSHA(pr.HeadSHA + " before")
		}
		p["before"], p["after"] = before, pr.HeadSHA
	case "edited":
		if pr.Changes != nil {
			p["changes"] = pr.Changes
		}
	}
	sender := pr.Sender
	if sender == "" {
		sender = pr.User
		if action == "closed" && pr.Merged {
			sender = pr.MergedBy
		}
	}
	setUser(obj(p, "sender"), sender)
	return marshal(t, p)
}

// PullRequestReviewPayload builds a pull_request_review event (submitted or
// dismissed; other actions are built from submitted) for review on pr.
func PullRequestReviewPayload(t testing.TB, action string, repo Repo, pr PullRequest, review Review) []byte {
	t.Helper()
	name := "pull_request_review.submitted"
	if action == "dismissed" {
		name = "pull_request_review.dismissed"
	}
	p := LoadPayload(t, name)
	p["action"] = action
	repo, pr = repo.withDefaults(), withPayloadDefaults(pr, repo)
	setRepository(p, repo)
	setPullRequest(obj(p, "pull_request"), repo, pr)
	if review.User == "" {
		review.User = "octocat"
	}
	if review.ID == 0 {
		review.ID = stableID(fmt.Sprintf("review:%s#%d:%s", repo.FullName(), pr.Number, review.User))
	}
	if review.CommitID == "" {
		review.CommitID = pr.HeadSHA
	}
	if review.SubmittedAt.IsZero() {
		review.SubmittedAt = now()
	}
	state := strings.ToLower(review.State)
	if state == "" {
		state = "approved"
	}
	if action == "dismissed" {
		state = "dismissed"
	}
	html := fmt.Sprintf("https://github.com/%s/pull/%d#pullrequestreview-%d", repo.FullName(), pr.Number, review.ID)
	prURL := fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", repo.FullName(), pr.Number)
	r := obj(p, "review")
	r["id"], r["node_id"] = review.ID, nodeID("PullRequestReview", review.ID)
	r["body"], r["state"], r["commit_id"] = orNil(review.Body), state, review.CommitID
	r["submitted_at"], r["html_url"], r["pull_request_url"] = ts(review.SubmittedAt), html, prURL
	r["_links"] = map[string]any{"html": map[string]any{"href": html}, "pull_request": map[string]any{"href": prURL}}
	setUser(obj(r, "user"), review.User)
	setUser(obj(p, "sender"), review.User)
	return marshal(t, p)
}

// IssueCommentPayload builds an issue_comment event for c, on a pull
// request when c.IsPullRequest (as Server.AddComment returns it).
func IssueCommentPayload(t testing.TB, action string, repo Repo, c Comment) []byte {
	t.Helper()
	name := "issue_comment.created"
	if c.IsPullRequest {
		name = "issue_comment.created.pull_request"
	}
	p := LoadPayload(t, name)
	p["action"] = action
	repo = repo.withDefaults()
	setRepository(p, repo)
	if c.Number == 0 {
		c.Number = 1
	}
	if c.User == "" {
		c.User = "octocat"
	}
	if c.ID == 0 {
		c.ID = stableID(fmt.Sprintf("comment:%s#%d:%s", repo.FullName(), c.Number, c.Body))
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	full := repo.FullName()
	api := "https://api.github.com/repos/" + full
	kind := "issues"
	if c.IsPullRequest {
		kind = "pull"
	}
	html := fmt.Sprintf("https://github.com/%s/%s/%d", full, kind, c.Number)

	is := obj(p, "issue")
	is["number"] = c.Number
	is["id"] = stableID(fmt.Sprintf("issue:%s#%d", full, c.Number))
	is["node_id"] = nodeID("Issue", is["id"].(int64))
	is["url"] = fmt.Sprintf("%s/issues/%d", api, c.Number)
	is["labels_url"] = fmt.Sprintf("%s/issues/%d/labels{/name}", api, c.Number)
	is["comments_url"] = fmt.Sprintf("%s/issues/%d/comments", api, c.Number)
	is["events_url"] = fmt.Sprintf("%s/issues/%d/events", api, c.Number)
	is["html_url"] = html
	if c.IsPullRequest {
		is["pull_request"] = map[string]any{
			"url": fmt.Sprintf("%s/pulls/%d", api, c.Number), "html_url": html,
			"diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": nil,
		}
	}

	cm := obj(p, "comment")
	cm["id"], cm["node_id"] = c.ID, nodeID("IssueComment", c.ID)
	cm["url"] = fmt.Sprintf("%s/issues/comments/%d", api, c.ID)
	cm["html_url"] = fmt.Sprintf("%s#issuecomment-%d", html, c.ID)
	cm["issue_url"] = is["url"]
	cm["body"], cm["created_at"], cm["updated_at"] = c.Body, ts(c.CreatedAt), ts(c.UpdatedAt)
	if r, ok := cm["reactions"].(map[string]any); ok {
		r["url"] = fmt.Sprintf("%s/issues/comments/%d/reactions", api, c.ID)
	}
	setUser(obj(cm, "user"), c.User)
	setUser(obj(p, "sender"), c.User)
	return marshal(t, p)
}

// Push describes a push event. Zero fields take the defaults noted.
type Push struct {
	Ref     string // "": refs/heads/<default branch>
	Before  string // "": 40 zeros (a new branch)
	After   string // "": derived from Ref
	Pusher  string // "": "octocat"
	Created bool
	Deleted bool
	Forced  bool
	Commits []PushCommit // nil: one commit, After, changing nothing
}

// PushCommit is a commit in a push event.
type PushCommit struct {
	ID                       string
	Message                  string
	Added, Removed, Modified []string
}

// PushPayload builds a push event to repo.
func PushPayload(t testing.TB, repo Repo, push Push) []byte {
	t.Helper()
	p := LoadPayload(t, "push")
	repo = repo.withDefaults()
	setRepository(p, repo)
	if push.Ref == "" {
		push.Ref = "refs/heads/" + repo.DefaultBranch
	}
	if push.Before == "" {
		push.Before = strings.Repeat("0", 40)
	}
	if push.After == "" {
		push.After = fakeSHA(repo.FullName() + " " + push.Ref)
	}
	if push.Pusher == "" {
		push.Pusher = "octocat"
	}
	if push.Commits == nil && !push.Deleted {
		push.Commits = []PushCommit{{ID: push.After, Message: "Update"}}
	}
	template := obj(p, "head_commit")
	commits := []any{}
	var head any
	for _, c := range push.Commits {
		m := copyMap(template)
		m["id"], m["tree_id"], m["message"] = c.ID, fakeSHA("tree "+c.ID), c.Message
		m["timestamp"] = ts(now())
		m["url"] = fmt.Sprintf("https://github.com/%s/commit/%s", repo.FullName(), c.ID)
		m["added"], m["removed"], m["modified"] = strs(c.Added), strs(c.Removed), strs(c.Modified)
		for _, k := range []string{"author", "committer"} {
			m[k] = map[string]any{"name": push.Pusher, "email": push.Pusher + "@users.noreply.github.com", "username": push.Pusher}
		}
		commits = append(commits, m)
		head = m
	}
	p["ref"], p["before"], p["after"] = push.Ref, push.Before, push.After
	p["created"], p["deleted"], p["forced"] = push.Created, push.Deleted, push.Forced
	p["compare"] = fmt.Sprintf("https://github.com/%s/compare/%s...%s", repo.FullName(), push.Before[:12], push.After[:12])
	p["commits"], p["head_commit"] = commits, head
	p["pusher"] = map[string]any{"name": push.Pusher, "email": push.Pusher + "@users.noreply.github.com"}
	setUser(obj(p, "sender"), push.Pusher)
	return marshal(t, p)
}

// CheckRunPayload builds a check_run event (from the rerequested example)
// for cr, listing prs as the run's pull requests. cr.AppID and cr.AppSlug,
// as Server.CheckRuns fills them, name the App that owns the run.
func CheckRunPayload(t testing.TB, action string, repo Repo, cr CheckRun, prs ...PullRequest) []byte {
	t.Helper()
	p := LoadPayload(t, "check_run.rerequested")
	p["action"] = action
	repo = repo.withDefaults()
	setRepository(p, repo)
	full := repo.FullName()
	api := "https://api.github.com/repos/" + full
	var prList []any
	for _, pr := range prs {
		pr = withPayloadDefaults(pr, repo)
		ref := map[string]any{"id": repo.ID, "url": api, "name": repo.Name}
		prList = append(prList, map[string]any{
			"url": fmt.Sprintf("%s/pulls/%d", api, pr.Number), "id": stableID(fmt.Sprintf("pr:%s#%d", full, pr.Number)),
			"number": pr.Number,
			"head":   map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA, "repo": ref},
			"base":   map[string]any{"ref": pr.BaseRef, "sha": pr.BaseSHA, "repo": ref},
		})
	}
	if prList == nil {
		prList = []any{}
	}
	c := obj(p, "check_run")
	c["id"], c["name"], c["head_sha"] = cr.ID, cr.Name, cr.HeadSHA
	c["node_id"] = nodeID("CheckRun", cr.ID)
	c["external_id"], c["details_url"] = cr.ExternalID, cr.DetailsURL
	c["status"], c["conclusion"] = orNil(cr.Status), orNil(cr.Conclusion)
	c["started_at"], c["completed_at"] = ts(cr.StartedAt), ts(cr.CompletedAt)
	c["url"] = fmt.Sprintf("%s/check-runs/%d", api, cr.ID)
	c["html_url"] = fmt.Sprintf("https://github.com/%s/runs/%d", full, cr.ID)
	c["pull_requests"] = prList
	if o, ok := c["output"].(map[string]any); ok {
		o["title"], o["summary"], o["text"] = orNil(cr.Title), orNil(cr.Summary), orNil(cr.Text)
		o["annotations_count"] = len(cr.Annotations)
	}
	suite := obj(c, "check_suite")
	suite["head_sha"], suite["pull_requests"] = cr.HeadSHA, prList
	if len(prs) > 0 {
		suite["head_branch"] = withPayloadDefaults(prs[0], repo).HeadRef
	}
	if cr.AppID != 0 {
		for _, app := range []map[string]any{obj(c, "app"), obj(suite, "app")} {
			app["id"], app["slug"], app["name"] = cr.AppID, cr.AppSlug, cr.AppSlug
			app["node_id"] = nodeID("Integration", cr.AppID)
		}
	}
	return marshal(t, p)
}

func withPayloadDefaults(pr PullRequest, repo Repo) PullRequest {
	if pr.Number == 0 {
		pr.Number = 1
	}
	return pr.withDefaults(repo)
}

// setRepository points a payload at repo: the repository object, every
// URL naming the example's repository, and the App installation.
func setRepository(p map[string]any, repo Repo) {
	old := obj(p, "repository")
	oldFull, _ := old["full_name"].(string)
	if oldFull != "" {
		replaceStrings(p, oldFull, repo.FullName())
	}
	setRepo(old, repo)
	p["installation"] = map[string]any{
		"id": repo.InstallationID, "node_id": nodeID("IntegrationInstallation", repo.InstallationID),
	}
}

func setRepo(r map[string]any, repo Repo) {
	r["id"], r["node_id"] = repo.ID, nodeID("Repository", repo.ID)
	r["name"], r["full_name"] = repo.Name, repo.FullName()
	r["private"], r["default_branch"] = repo.Private, repo.DefaultBranch
	if _, ok := r["master_branch"]; ok {
		r["master_branch"] = repo.DefaultBranch
	}
	r["visibility"] = "public"
	if repo.Private {
		r["visibility"] = "private"
	}
	r["clone_url"] = repo.CloneURL
	r["html_url"] = "https://github.com/" + repo.FullName()
	r["git_url"] = "git://github.com/" + repo.FullName() + ".git"
	r["ssh_url"] = "git@github.com:" + repo.FullName() + ".git"
	owner := obj(r, "owner")
	setUser(owner, repo.Owner)
	if _, ok := owner["name"]; ok { // push events carry name and email too
		owner["name"] = repo.Owner
		owner["email"] = repo.Owner + "@users.noreply.github.com"
	}
}

func setPullRequest(m map[string]any, repo Repo, pr PullRequest) {
	full := repo.FullName()
	api := "https://api.github.com/repos/" + full
	html := fmt.Sprintf("https://github.com/%s/pull/%d", full, pr.Number)
	id := stableID(fmt.Sprintf("pr:%s#%d", full, pr.Number))
	m["id"], m["node_id"], m["number"] = id, nodeID("PullRequest", id), pr.Number
	m["url"] = fmt.Sprintf("%s/pulls/%d", api, pr.Number)
	m["html_url"], m["diff_url"], m["patch_url"] = html, html+".diff", html+".patch"
	m["issue_url"] = fmt.Sprintf("%s/issues/%d", api, pr.Number)
	m["commits_url"] = fmt.Sprintf("%s/pulls/%d/commits", api, pr.Number)
	m["review_comments_url"] = fmt.Sprintf("%s/pulls/%d/comments", api, pr.Number)
	m["review_comment_url"] = api + "/pulls/comments{/number}"
	m["comments_url"] = fmt.Sprintf("%s/issues/%d/comments", api, pr.Number)
	m["statuses_url"] = fmt.Sprintf("%s/statuses/%s", api, pr.HeadSHA)
	m["_links"] = map[string]any{
		"self":            map[string]any{"href": m["url"]},
		"html":            map[string]any{"href": html},
		"issue":           map[string]any{"href": m["issue_url"]},
		"comments":        map[string]any{"href": m["comments_url"]},
		"review_comments": map[string]any{"href": m["review_comments_url"]},
		"review_comment":  map[string]any{"href": m["review_comment_url"]},
		"commits":         map[string]any{"href": m["commits_url"]},
		"statuses":        map[string]any{"href": m["statuses_url"]},
	}
	m["title"], m["body"], m["state"], m["draft"] = pr.Title, orNil(pr.Body), pr.State, pr.Draft
	m["created_at"], m["updated_at"] = ts(pr.CreatedAt), ts(pr.CreatedAt)
	m["closed_at"], m["merged_at"], m["merged_by"] = nil, nil, nil
	if pr.State == "closed" {
		m["closed_at"] = ts(pr.CreatedAt)
	}
	m["merged"], m["merge_commit_sha"] = pr.Merged, orNil(pr.MergeCommitSHA)
	if pr.Merged {
		m["merged_at"] = m["closed_at"]
		merger := map[string]any{}
		setUser(merger, pr.MergedBy)
		m["merged_by"] = merger
	}
	setUser(obj(m, "user"), pr.User)
	labels := []any{}
	for _, l := range pr.Labels {
		lid := stableID("label:" + full + ":" + l)
		labels = append(labels, map[string]any{
			"id": lid, "node_id": nodeID("Label", lid), "url": api + "/labels/" + l,
			"name": l, "color": "ededed", "default": false, "description": nil,
		})
	}
	m["labels"] = labels

	headRepo := repo
	if pr.HeadRepo != nil {
		headRepo = pr.HeadRepo.withDefaults()
	}
	for _, side := range []struct {
		key, ref, sha string
		repo          Repo
	}{{"head", pr.HeadRef, pr.HeadSHA, headRepo}, {"base", pr.BaseRef, pr.BaseSHA, repo}} {
		b := obj(m, side.key)
		b["ref"], b["sha"], b["label"] = side.ref, side.sha, side.repo.Owner+":"+side.ref
		setUser(obj(b, "user"), side.repo.Owner)
		r := obj(b, "repo")
		if oldFull, _ := r["full_name"].(string); oldFull != "" {
			replaceStrings(r, oldFull, side.repo.FullName())
		}
		setRepo(r, side.repo)
		r["fork"] = side.key == "head" && pr.HeadRepo != nil
	}
}

// setUser rewrites a user object to login, keeping the example's shape.
func setUser(u map[string]any, login string) {
	old, _ := u["login"].(string)
	for k, v := range u {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_url") && old != "" {
			u[k] = strings.ReplaceAll(s, "/"+old, "/"+login)
		}
	}
	id := stableID("user:" + strings.ToLower(login))
	kind := "User"
	if strings.HasSuffix(login, "[bot]") {
		kind = "Bot"
	}
	u["login"], u["id"], u["node_id"], u["type"] = login, id, nodeID(kind, id), kind
	u["avatar_url"] = "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(id, 10) + "?v=4"
	u["url"] = "https://api.github.com/users/" + login
	u["html_url"] = "https://github.com/" + login
	if _, ok := u["site_admin"]; !ok {
		u["site_admin"] = false
	}
}

// replaceStrings replaces old with repl in every string inside v.
func replaceStrings(v any, old, repl string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				x[k] = strings.ReplaceAll(s, old, repl)
			} else {
				replaceStrings(e, old, repl)
			}
		}
	case []any:
		for i, e := range x {
			if s, ok := e.(string); ok {
				x[i] = strings.ReplaceAll(s, old, repl)
			} else {
				replaceStrings(e, old, repl)
			}
		}
	}
}

// obj returns m[key] as an object, creating it when the example lacks it.
func obj(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func strs(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func marshal(t testing.TB, p map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("githubtest: marshal payload: %v", err)
	}
	return data
}
