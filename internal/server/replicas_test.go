package server

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	dto "github.com/prometheus/client_model/go"

	"github.com/ferry-gitops/ferry/internal/clustertest"
	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/pgtest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// replicaLease is the job lease of the replicas under test: a killed
// replica's jobs move to the other after it.
const replicaLease = "5s"

// startReplica runs `ferry serve` on the PostgreSQL database dbURL (""
// for SQLite) with a data directory (git mirrors, render cache) of its own.
func startReplica(t testing.TB, h *harness, bin, dbURL string, args ...string) *ferryProcess {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, h.key, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"FERRY_JOB_LEASE=" + replicaLease, "FERRY_WORKERS=4"}
	if dbURL != "" {
		env = append(env, "FERRY_DATABASE_URL="+dbURL)
	}
	p := startFerryArgs(t, bin, h.gh.URL(), keyFile, filepath.Join(t.TempDir(), "data"), args, env...)
	t.Cleanup(p.stop)
	return p
}

// openDistinctPR opens pull request n on a commit of its own (branch's
// tree, a new commit), so that every PR has its own head SHA and checks.
func (h *harness) openDistinctPR(n int, branch string) githubtest.PullRequest {
	h.t.Helper()
	repo := h.git.RepoPath(repoName)
	out, err := exec.Command("git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@ferry.invalid",
		"commit-tree", branch+"^{tree}", "-p", branch, "-m", fmt.Sprintf("PR %d", n)).Output()
	if err != nil {
		h.t.Fatalf("commit-tree: %v", err)
	}
	sha := strings.TrimSpace(string(out))
	h.setPullRef(n, sha)
	return h.gh.AddPullRequest(owner, repoName, githubtest.PullRequest{Number: n, HeadSHA: sha, HeadRef: branch, BaseRef: "main", User: "alice"})
}

// TestReplicasShareTheQueue: two `ferry serve` processes on one PostgreSQL
// database and one fake GitHub; 100 pull request deliveries spread over
// both; one replica is SIGKILLed half-way. Every PR ends with exactly one
// comment and one completed check run of each name.
func TestReplicasShareTheQueue(t *testing.T) {
	h := newHarness(t)
	h.stop()
	h.stop = nil
	bin, dbURL := buildFerry(t), pgtest.URL(t)
	replicas := []*ferryProcess{startReplica(t, h, bin, dbURL), startReplica(t, h, bin, dbURL)}

	const prs = 100
	branch := testrepo.Branch("image-bump-production")
	opened := make([]githubtest.PullRequest, 0, prs)
	for n := 1; n <= prs; n++ {
		pr := h.openDistinctPR(n, branch)
		opened = append(opened, pr)
		to := replicas[n%2]
		if n == prs/2 {
			if err := replicas[0].cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = replicas[0].cmd.Wait()
		}
		if n >= prs/2 {
			to = replicas[1]
		}
		body := githubtest.PullRequestPayload(t, "opened", h.repo, pr)
		if resp := githubtest.Deliver(t, to.url+"/webhook", testSecret, "pull_request", body, fmt.Sprintf("replica-%d", n)); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("#%d: status %d", n, resp.StatusCode)
		}
	}
	h.logs = replicas[1].logs
	deadline := time.Now().Add(5 * time.Minute)
	for _, pr := range opened {
		for !previewed(h, pr) {
			if time.Now().After(deadline) {
				t.Fatalf("#%d never completed: checks %+v, %d comments; survivor's log:\n%s", pr.Number,
					h.gh.CheckRuns(owner, repoName, pr.HeadSHA), len(h.gh.Comments(owner, repoName, pr.Number)), tail(replicas[1].logs.String(), 4000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // room for a wrong second comment or check
	// The killed replica was busy (25 jobs queued on 4 workers): the
	// survivor took over what it was running once the lease lapsed.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var takenOver int
	if err := db.QueryRow(`SELECT COUNT(*) FROM jobs WHERE attempts > 1`).Scan(&takenOver); err != nil || takenOver == 0 {
		t.Errorf("%d jobs ran twice (%v): the kill interrupted nothing", takenOver, err)
	}
	t.Logf("%d jobs interrupted by the kill and taken over", takenOver)
	for _, pr := range opened {
		if n := len(h.gh.Comments(owner, repoName, pr.Number)); n != 1 {
			t.Errorf("#%d has %d comments, want 1", pr.Number, n)
		}
		names := map[string]int{}
		for _, c := range h.gh.CheckRuns(owner, repoName, pr.HeadSHA) {
			names[c.Name]++
		}
		if names["ferry/diff"] != 1 || names["ferry/policy"] != 1 {
			t.Errorf("#%d has check runs %v, want one ferry/diff and one ferry/policy", pr.Number, names)
		}
	}
}

// previewed: pr has its comment and both checks completed.
func previewed(h *harness, pr githubtest.PullRequest) bool {
	if len(h.gh.Comments(owner, repoName, pr.Number)) == 0 {
		return false
	}
	done := map[string]bool{}
	for _, c := range h.gh.CheckRuns(owner, repoName, pr.HeadSHA) {
		if c.Status == "completed" {
			done[c.Name] = true
		}
	}
	return done["ferry/diff"] && done["ferry/policy"]
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestLeaderFailover: two replicas on one PostgreSQL database; the first
// leads and watches the synced environment. It is SIGKILLed; an object it
// watched is changed out of band; the other replica takes the lead and
// heals it, from the watch state in the store.
func TestLeaderFailover(t *testing.T) {
	h := newSyncHarness(t, "healthy")
	h.stop()
	h.stop = nil
	bin, dbURL := buildFerry(t), pgtest.URL(t)
	args := []string{"--kubeconfig", clustertest.Kubeconfig(t, h.cluster), "--cluster", "https://kubernetes.default.svc=clustertest"}
	first := startReplica(t, h.harness, bin, dbURL, args...)
	h.url = first.url
	h.waitFor("the first replica to lead", func() bool { return leads(h.harness) })
	second := startReplica(t, h.harness, bin, dbURL, args...)

	h.push(strings.Repeat("0", 40), h.head, "failover-push")
	h.waitFor("the sync", func() bool { return last(h.deploymentStates("payment-service")) == "success" })
	h.url = second.url
	if leads(h.harness) {
		t.Fatal("both replicas lead")
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	killed := time.Now()
	h.scaleAs("kubectl-scale", 7)
	h.logs = second.logs
	h.waitFor("the second replica to lead", func() bool { return leads(h.harness) })
	t.Logf("the second replica leads %v after the kill", time.Since(killed).Round(time.Millisecond))
	h.waitFor("the drift to be healed by the new leader", func() bool { return h.replicas() == 3 })
	t.Logf("healed %v after the kill", time.Since(killed).Round(time.Millisecond))
	if fams := h.scrape(); !counted(fams, "ferry_drift_events_total", "action", "healed") {
		t.Error("the new leader's /metrics counts no healed drift")
	}
}

// leads: the replica at h.url says it leads.
func leads(h *harness) bool {
	fams := h.scrape()
	for _, m := range fams["ferry_leader"].GetMetric() {
		return m.GetGauge().GetValue() == 1
	}
	return false
}

// counted: family has a sample with label=value above zero.
func counted(fams map[string]*dto.MetricFamily, family, label, value string) bool {
	for _, m := range fams[family].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value && m.GetCounter().GetValue() > 0 {
				return true
			}
		}
	}
	return false
}

// BenchmarkReplicasPreview measures job throughput end to end: 40 pull
// requests delivered at once to `ferry serve` processes (4 workers each)
// until every one has its comment and completed checks, on SQLite (one
// process), PostgreSQL with one replica, and PostgreSQL with two (the
// deliveries alternating between them).
func BenchmarkReplicasPreview(b *testing.B) {
	const prs = 40
	bin := buildFerry(b)
	for _, setup := range []struct {
		name     string
		postgres bool
		replicas int
	}{{"sqlite", false, 1}, {"postgres", true, 1}, {"postgres-2-replicas", true, 2}} {
		b.Run(setup.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h := newHarness(b)
				h.stop()
				h.stop = nil
				dbURL := ""
				if setup.postgres {
					dbURL = pgtest.URL(b)
				}
				var procs []*ferryProcess
				for range setup.replicas {
					procs = append(procs, startReplica(b, h, bin, dbURL))
				}
				opened := make([]githubtest.PullRequest, 0, prs)
				for n := 1; n <= prs; n++ {
					opened = append(opened, h.openDistinctPR(n, testrepo.Branch("image-bump-production")))
				}
				b.StartTimer()
				for n, pr := range opened {
					body := githubtest.PullRequestPayload(b, "opened", h.repo, pr)
					if resp := githubtest.Deliver(b, procs[n%len(procs)].url+"/webhook", testSecret, "pull_request", body, fmt.Sprintf("bench-%d", n)); resp.StatusCode != http.StatusAccepted {
						b.Fatalf("status %d", resp.StatusCode)
					}
				}
				for _, pr := range opened {
					for !previewed(h, pr) {
						time.Sleep(20 * time.Millisecond)
					}
				}
				b.StopTimer()
				for _, p := range procs {
					p.stop()
				}
			}
			b.ReportMetric(float64(prs*b.N)/b.Elapsed().Seconds(), "prs/s")
		})
	}
}

// TestReadyzFollowsTheDatabase: /readyz fails while PostgreSQL refuses
// ferry's connections and recovers with it; /healthz (liveness) stays up,
// so the pod is taken out of the Service, not restarted.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	dbURL := pgtest.URL(t)
	h := newHarnessWith(t, testrepo.Build(t), func(c *Config) { c.DatabaseURL = dbURL })
	status := func(path string) int {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	h.waitFor("ready", func() bool { return status("/readyz") == http.StatusOK })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres" // a database's connections are refused from another one
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{
		"ALTER DATABASE " + name + " ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()",
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	h.waitFor("/readyz to fail", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	if code := status("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while the database is away, want 200", code)
	}
	if _, err := admin.Exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("/readyz to recover", func() bool { return status("/readyz") == http.StatusOK })
}
