package server

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/githubtest"
	"github.com/ferry-gitops/ferry/internal/gittest"
	"github.com/ferry-gitops/ferry/internal/testrepo"
)

// hostileCase is one directory of testdata/hostile (see its README).
type hostileCase struct {
	Name        string
	Attack      string      `json:"attack"`
	Environment string      `json:"environment"`
	Generate    []generated `json:"generate"`
	Expect      struct {
		Diff       string `json:"diff"`
		Message    string `json:"message"`
		Annotation string `json:"annotation"`
		Status     string `json:"status"`
		// Absent are texts neither the comment nor the check may hold.
		Absent []string `json:"absent"`
		// Policy is the ferry/policy conclusion, when the case decides it,
		// and PolicyMessage a text its summary or annotations hold.
		Policy        string `json:"policy"`
		PolicyMessage string `json:"policyMessage"`
	} `json:"expect"`
	// Planted are values that must appear in nothing ferry writes.
	Planted    []string `json:"planted"`
	base, head map[string]string
}

func loadHostileCases(t *testing.T) []hostileCase {
	t.Helper()
	root, err := testrepo.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "testdata", "hostile", "*", "case.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no hostile cases found: %v", err)
	}
	var cases []hostileCase
	for _, f := range dirs {
		dir := filepath.Dir(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := hostileCase{Name: filepath.Base(dir)}
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.base, c.head = readCaseFiles(t, filepath.Join(dir, "base")), readCaseFiles(t, filepath.Join(dir, "head"))
		for _, g := range c.Generate {
			g.addTo(c.head)
		}
		cases = append(cases, c)
	}
	return cases
}

// generated is a file too large to keep in testdata: Bytes of zeros, or of
// YAML comment lines when Comment is set; Count copies when Path holds "{n}".
type generated struct {
	Path    string `json:"path"`
	Bytes   int    `json:"bytes"`
	Count   int    `json:"count"`
	Comment bool   `json:"comment"`
}

func (g generated) addTo(files map[string]string) {
	content := strings.Repeat("\x00", g.Bytes)
	if g.Comment {
		line := "# " + strings.Repeat("x", 61) + "\n"
		content = strings.Repeat(line, g.Bytes/len(line))
	}
	for i := 0; i < max(g.Count, 1); i++ {
		files[strings.ReplaceAll(g.Path, "{n}", strconv.Itoa(i))] = content
	}
}

// readCaseFiles reads a case's files for gittest.Commit, symlinks as links.
func readCaseFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) && p == dir {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			files[filepath.ToSlash(rel)] = gittest.Symlink(target)
			return err
		}
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestHostilePullRequests sends every attack in testdata/hostile to one
// running `ferry serve` (the real binary): each must end as its
// environment's failure (or, for the symlink case, as a shown change), and
// the same process must then comment an ordinary pull request. The server's
// peak resident memory is logged (BENCHMARKS.md).
func TestHostilePullRequests(t *testing.T) {
	h := newHarness(t)
	h.stop()
	h.stop = nil
	p := startHostileFerry(t, h)
	defer p.stop()
	for i, c := range loadHostileCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			number := 100 + i
			if len(c.base) > 0 {
				h.git.Commit(t, repoName, "main", c.base, "base of "+c.Name)
			}
			branch := "hostile/" + c.Name
			h.git.Commit(t, repoName, branch, c.head, c.Attack)
			pr := h.openPR(number, branch)
			h.deliver("pull_request", "opened", pr, "hostile-"+c.Name)
			h.waitFor("the diff check of "+c.Name, func() bool { return h.completedCheck(pr.HeadSHA) != nil })
			checkHostileOutcome(t, h, c, number, h.completedCheck(pr.HeadSHA))
			if c.Expect.Policy != "" {
				checkHostilePolicy(t, c, h.policyCheck(pr.HeadSHA, 1))
			}
		})
	}
	t.Run("ordinary pull request afterwards", func(t *testing.T) {
		pr := h.openPR(99, testrepo.Branch("image-bump-production"))
		h.deliver("pull_request", "opened", pr, "ordinary-after-hostile")
		h.waitFor("the ordinary check", func() bool { return h.completedCheck(pr.HeadSHA) != nil })
		comments := h.gh.Comments(owner, repoName, 99)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "image: payment-service:v2.5.0") {
			t.Fatalf("ordinary PR after the hostile ones: %d comments, want the diff", len(comments))
		}
	})
	if p.cmd.ProcessState != nil {
		t.Fatalf("the server exited: %v", p.cmd.ProcessState)
	}
	t.Logf("peak RSS of the ferry serve process (pid %d) over the hostile suite: %d MiB", p.cmd.Process.Pid, peakRSS(t, p.cmd.Process.Pid)>>20)
}

// startHostileFerry runs the real binary for h's fake GitHub and git
// server, with a render timeout short enough for the endless-loop case and
// a memory cap the helm-output case reaches well before it.
func startHostileFerry(t *testing.T, h *harness) *ferryProcess {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, h.key, 0o600); err != nil {
		t.Fatal(err)
	}
	h.dir = filepath.Join(t.TempDir(), "data")
	p := startFerry(t, buildFerry(t), h.gh.URL(), keyFile, h.dir, "FERRY_RENDER_TIMEOUT=5s", "FERRY_RENDER_MEMORY=512Mi")
	h.url, h.logs = p.url, p.logs
	return p
}

func checkHostileOutcome(t *testing.T, h *harness, c hostileCase, number int, check *githubtest.CheckRun) {
	t.Helper()
	if check.Conclusion != c.Expect.Diff {
		t.Errorf("ferry/diff %s, want %s; summary:\n%s", check.Conclusion, c.Expect.Diff, check.Summary)
	}
	comments := h.gh.Comments(owner, repoName, number)
	if len(comments) != 1 {
		t.Fatalf("%d comments, want the sticky diff comment", len(comments))
	}
	for where, text := range map[string]string{"check summary": check.Summary, "comment": comments[0].Body} {
		if !strings.Contains(text, c.Expect.Message) {
			t.Errorf("%s lacks %q:\n%s", where, c.Expect.Message, text)
		}
		if c.Environment != "" && !strings.Contains(text, c.Environment) {
			t.Errorf("%s does not name %s", where, c.Environment)
		}
		for _, a := range c.Expect.Absent {
			if strings.Contains(text, a) {
				t.Errorf("%s holds %q unescaped:\n%s", where, a, text)
			}
		}
	}
	if c.Expect.Status == "changed" && !strings.Contains(comments[0].Body, "changed") {
		t.Errorf("comment does not show %s as changed:\n%s", c.Environment, comments[0].Body)
	}
	if c.Expect.Annotation != "" && !annotatedAt(check, c.Expect.Annotation) {
		t.Errorf("no failure annotation at %s: %+v", c.Expect.Annotation, check.Annotations)
	}
	h.assertNotLeaked(t, c.Planted)
}

func checkHostilePolicy(t *testing.T, c hostileCase, check githubtest.CheckRun) {
	t.Helper()
	text := check.Summary
	for _, a := range check.Annotations {
		text += "\n" + a.Title + ": " + a.Message
	}
	if check.Conclusion != c.Expect.Policy || !strings.Contains(text, c.Expect.PolicyMessage) {
		t.Errorf("ferry/policy %s, want %s holding %q:\n%s", check.Conclusion, c.Expect.Policy, c.Expect.PolicyMessage, text)
	}
}

func annotatedAt(check *githubtest.CheckRun, path string) bool {
	for _, a := range check.Annotations {
		if a.Path == path && a.AnnotationLevel == "failure" {
			return true
		}
	}
	return false
}

// assertNotLeaked checks that no value appears in a body sent to GitHub, the
// server log or a file of the store.
func (h *harness) assertNotLeaked(t *testing.T, values []string) {
	t.Helper()
	if len(values) == 0 {
		return
	}
	var places []string
	for i, body := range h.gh.AllBodies() {
		places = append(places, fmt.Sprintf("GitHub request %d", i), string(body))
	}
	places = append(places, "server log", h.logs.String())
	files, _ := filepath.Glob(filepath.Join(h.dir, "ferry.db*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		places = append(places, filepath.Base(f), string(b))
	}
	for i := 0; i < len(places); i += 2 {
		for _, v := range values {
			if strings.Contains(places[i+1], v) {
				t.Errorf("%s holds a planted secret (%.6s…)", places[i], v)
			}
		}
	}
}

// peakRSS is a process's high-water resident set (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("peak RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
