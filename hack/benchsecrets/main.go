// Command benchsecrets times ferry's secret scanner side by side with the
// gitleaks CLI on the same files: testdata/secrets replicated to about
// -size MB, every line scanned (as a pull request adding the files would).
// hack/bench-secrets.sh builds the CLI and runs this.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	glregexp "github.com/zricethezav/gitleaks/v8/regexp"

	"github.com/ferry-gitops/ferry/internal/secrets"
)

func main() {
	corpus := flag.String("corpus", "testdata/secrets", "corpus to replicate")
	gitleaks := flag.String("gitleaks", ".cache/tools/gitleaks", "gitleaks CLIs to time, comma-separated (empty: none)")
	sizeMB := flag.Int("size", 10, "replicated size in MB")
	runs := flag.Int("runs", 3, "timed runs per scanner (median reported)")
	work := flag.String("work", "", "directory for the replicated files (default: a temp dir)")
	flag.Parse()
	if err := run(context.Background(), *corpus, *gitleaks, *work, *sizeMB<<20, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "benchsecrets:", err)
		os.Exit(1)
	}
}

type file struct {
	name string
	data []byte
}

func run(ctx context.Context, corpus, gitleaks, work string, size, runs int) error {
	if work == "" {
		dir, err := os.MkdirTemp("", "benchsecrets")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	files, total, err := replicate(corpus, work, size)
	if err != nil {
		return err
	}
	mb := float64(total) / (1 << 20)
	fmt.Printf("corpus: %d files, %.1f MB in %s, %d CPUs, median of %d runs\n\n", len(files), mb, work, runtime.NumCPU(), runs)

	scanner, err := secrets.NewScanner(secrets.Allowlist{})
	if err != nil {
		return err
	}
	type result struct {
		name     string
		d        time.Duration
		findings int
	}
	var results []result
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		var found int
		d := median(runs, func() { found = scan(scanner, files, workers) })
		results = append(results, result{fmt.Sprintf("ferry secrets.Scanner (regexp: %s), %d goroutine(s)", glregexp.Version, workers), d, found})
	}
	for _, bin := range strings.Split(gitleaks, ",") {
		if bin == "" {
			continue
		}
		found, d, err := timeGitleaks(ctx, bin, work, runs)
		if err != nil {
			return err
		}
		results = append(results, result{"gitleaks dir, " + bin, d, found})
	}

	fmt.Println("| scanner | time | MB/s | findings |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	for _, r := range results {
		fmt.Printf("| %s | %.2fs | %.2f | %d |\n", r.name, r.d.Seconds(), mb/r.d.Seconds(), r.findings)
	}
	return nil
}

// timeGitleaks runs `gitleaks dir` over the directory with its defaults
// (decoding depth 5, as ferry's) and counts the findings in its report.
func timeGitleaks(ctx context.Context, bin, dir string, runs int) (int, time.Duration, error) {
	report := filepath.Join(dir, "..", filepath.Base(dir)+"-gitleaks.json")
	defer os.Remove(report)
	var found int
	var runErr error
	d := median(runs, func() {
		cmd := exec.CommandContext(ctx, bin, "dir", "--no-banner", "--exit-code", "0", "--log-level", "error",
			"--report-format", "json", "--report-path", report, dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			runErr = fmt.Errorf("%s: %w: %s", bin, err, stderr.String())
			return
		}
		out, err := os.ReadFile(report)
		if err != nil {
			runErr = err
			return
		}
		found = strings.Count(string(out), `"RuleID"`)
	})
	return found, d, runErr
}

// replicate copies the corpus (but expected.yaml) under copyNNNN/ until it
// holds at least size bytes.
func replicate(corpus, dir string, size int) ([]file, int, error) {
	var base []file
	err := filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "expected.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(corpus, p)
		base = append(base, file{filepath.ToSlash(rel), data})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if len(base) == 0 {
		return nil, 0, fmt.Errorf("no files in %s", corpus)
	}
	sort.Slice(base, func(i, j int) bool { return base[i].name < base[j].name })
	var out []file
	total := 0
	for i := 0; total < size; i++ {
		for _, f := range base {
			name := fmt.Sprintf("copy%04d/%s", i, f.name)
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, 0, err
			}
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				return nil, 0, err
			}
			out = append(out, file{name, f.data})
			total += len(f.data)
		}
	}
	return out, total, nil
}

// scan runs the scanner over every file, all lines added, on n goroutines.
func scan(s *secrets.Scanner, files []file, n int) int {
	work := make(chan file)
	var mu sync.Mutex
	found := 0
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				lines := strings.Split(strings.TrimSuffix(string(f.data), "\n"), "\n")
				added := make([]secrets.AddedLine, len(lines))
				for i, l := range lines {
					added[i] = secrets.AddedLine{Number: i + 1, Text: l}
				}
				k := len(s.ScanChange(f.name, f.data, added))
				mu.Lock()
				found += k
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return found
}

func median(runs int, f func()) time.Duration {
	ds := make([]time.Duration, runs)
	for i := range ds {
		start := time.Now()
		f()
		ds[i] = time.Since(start)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[runs/2]
}
