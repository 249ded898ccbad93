// Command benchcompare times `ferry diff` side by side with the shell
// pipeline a user would otherwise write (kustomize build / helm template of
// every environment at base and head, then diff -u), in one run on the same
// machine, and prints a markdown table for BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ferry-gitops/ferry/internal/testrepo"
)

type scenario struct {
	name      string
	repo      string
	base      string
	head      string
	pipeline  string // bash script run in a dir holding base/ and head/ work trees
	touchNote string
}

func main() {
	ferry := flag.String("ferry", "bin/ferry", "ferry binary")
	tools := flag.String("tools", ".cache/tools", "directory with kustomize and helm")
	runs := flag.Int("runs", 5, "timed runs per command (median reported)")
	work := flag.String("work", "", "scratch directory (default: a temp dir)")
	only := flag.String("only", "", "run only the scenario with this name")
	flag.Parse()
	if err := run(*ferry, *tools, *runs, *work, *only); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

func run(ferry, tools string, runs int, work, only string) error {
	ctx := context.Background()
	var err error
	if ferry, err = filepath.Abs(ferry); err != nil {
		return err
	}
	if tools, err = filepath.Abs(tools); err != nil {
		return err
	}
	if work == "" {
		if work, err = os.MkdirTemp("", "ferry-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	scenarios, err := prepare(ctx, work, tools)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	fmt.Printf("Machine: %s, %s\n\n", host, cpuModel())
	fmt.Println("| scenario | ferry diff (median) | shell pipeline (median) | ratio ferry/pipeline |")
	fmt.Println("|---|---|---|---|")
	for _, sc := range scenarios {
		if only != "" && sc.name != only {
			continue
		}
		ferryCmd := []string{ferry, "diff", "--repo", sc.repo, "--base", sc.base, "--head", sc.head, "--format", "markdown"}
		fd, err := median(runs, func() error { return runCmd(ctx, "", ferryCmd...) })
		if err != nil {
			return fmt.Errorf("%s: ferry: %w", sc.name, err)
		}
		pd, err := median(runs, func() error { return runCmd(ctx, filepath.Join(work, sc.name), "bash", "-c", sc.pipeline) })
		if err != nil {
			return fmt.Errorf("%s: pipeline: %w", sc.name, err)
		}
		fmt.Printf("| %s%s | %s | %s | %.3f |\n", sc.name, sc.touchNote, fd.Round(time.Millisecond), pd.Round(time.Millisecond), float64(fd)/float64(pd))
	}
	return nil
}

func prepare(ctx context.Context, work, tools string) ([]scenario, error) {
	kustomize, helm := filepath.Join(tools, "kustomize"), filepath.Join(tools, "helm")
	// The bundled example: a change to the shared base touches staging and production.
	gitops := filepath.Join(work, "gitops")
	if err := testrepo.BuildDir(gitops); err != nil {
		return nil, err
	}
	// 500 generated overlays; one commit changes one overlay, another a shared base.
	gen := filepath.Join(work, "gen500")
	if err := testrepo.GenerateOverlays(gen, 500); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "500 overlays"},
		{"checkout", "-qb", "one"},
	}
	for _, s := range steps {
		if err := git(ctx, gen, s...); err != nil {
			return nil, err
		}
	}
	if err := appendLine(filepath.Join(gen, "overlays/env-250/kustomization.yaml"), "namePrefix: bench-\n"); err != nil {
		return nil, err
	}
	for _, s := range [][]string{{"commit", "-qam", "touch one overlay"}, {"checkout", "-q", "main"}} {
		if err := git(ctx, gen, s...); err != nil {
			return nil, err
		}
	}

	overlays500 := make([]string, 500)
	for i := range overlays500 {
		overlays500[i] = fmt.Sprintf("overlays/env-%03d", i)
	}
	scs := []scenario{
		{name: "gitops-base-change", repo: gitops, base: "main", head: testrepo.Branch("base-change"),
			pipeline: pipeline(kustomize, helm, []string{"overlays/staging", "overlays/production"}, []string{"charts/payment-service"}), touchNote: " (3 envs, base touches 2)"},
		{name: "gen500-one-overlay", repo: gen, base: "main", head: "one",
			pipeline: pipeline(kustomize, helm, overlays500, nil), touchNote: " (500 envs, 1 touched)"},
	}
	for _, sc := range scs {
		dir := filepath.Join(work, sc.name)
		for side, rev := range map[string]string{"base": sc.base, "head": sc.head} {
			if err := git(ctx, sc.repo, "worktree", "add", "-q", "--detach", filepath.Join(dir, side), rev); err != nil {
				return nil, err
			}
		}
	}
	return scs, nil
}

// pipeline is the script a user would write without ferry: render every
// environment at both revisions and diff them.
func pipeline(kustomize, helm string, overlays, charts []string) string {
	var b strings.Builder
	b.WriteString("set -e; rm -rf out; mkdir -p out\n")
	for i, o := range overlays {
		fmt.Fprintf(&b, "%s build base/%s > out/%d.base; %s build head/%s > out/%d.head; diff -u out/%d.base out/%d.head > /dev/null || true\n", kustomize, o, i, kustomize, o, i, i, i)
	}
	for i, c := range charts {
		fmt.Fprintf(&b, "%s template payment-service base/%s > out/c%d.base; %s template payment-service head/%s > out/c%d.head; diff -u out/c%d.base out/c%d.head > /dev/null || true\n", helm, c, i, helm, c, i, i, i)
	}
	return b.String()
}

func median(n int, f func() error) (time.Duration, error) {
	if err := f(); err != nil { // warm-up, not counted
		return 0, err
	}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

func runCmd(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		// ferry diff exits 1 when something changes: that is success here.
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && filepath.Base(args[0]) == "ferry" {
			return nil
		}
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, lastLines(string(out)))
	}
	return nil
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@ferry.invalid"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line)
	return err
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	n := 0
	model := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "processor") {
			n++
		}
		if strings.HasPrefix(line, "model name") && model == "" {
			_, model, _ = strings.Cut(line, ":")
		}
	}
	return fmt.Sprintf("%d × %s", n, strings.TrimSpace(model))
}
