package secrets

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// replicated is the corpus copied under numbered directories until it
// holds at least size bytes, every line counted as added.
type replicatedFile struct {
	name    string
	content []byte
	added   []AddedLine
}

func replicated(b testing.TB, size int) ([]replicatedFile, int) {
	files := corpus(b)
	var out []replicatedFile
	total := 0
	for i := 0; total < size; i++ {
		for _, name := range sortedKeys(files) {
			data := files[name]
			out = append(out, replicatedFile{fmt.Sprintf("copy%04d/%s", i, name), data, allAdded(data)})
			total += len(data)
		}
	}
	return out, total
}

// benchSize is what hack/bench-secrets.sh scans with the gitleaks CLI too.
const benchSize = 10 << 20

// BenchmarkScan scans the corpus replicated to about 10 MB, as added lines
// with the whole file as context (ScanChange), on one goroutine.
func BenchmarkScan(b *testing.B) {
	files, total := replicated(b, benchSize)
	s := newTestScanner(b, Allowlist{})
	b.SetBytes(int64(total))
	b.ResetTimer()
	for range b.N {
		n := 0
		for _, f := range files {
			n += len(s.ScanChange(f.name, f.content, f.added))
		}
		if n == 0 {
			b.Fatal("no findings")
		}
	}
}

// TestConcurrentScans checks that one Scanner serves many goroutines and
// gives each the same answer (run with -race).
func TestConcurrentScans(t *testing.T) {
	files, _ := replicated(t, 1)
	s := newTestScanner(t, Allowlist{})
	want := make([][]Finding, len(files))
	for i, f := range files {
		want[i] = s.ScanChange(f.name, f.content, f.added)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, f := range files {
				if got := s.ScanChange(f.name, f.content, f.added); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("%s: concurrent scan gave %v, want %v", f.name, got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkRulesScanner is the per-repository cost of a scanner once the
// rules are loaded; BenchmarkNewScanner includes compiling them.
func BenchmarkRulesScanner(b *testing.B) {
	rules, err := LoadRules()
	if err != nil {
		b.Fatal(err)
	}
	allow := Allowlist{Paths: []string{"docs/**"}, Regexes: []string{"^dummy-"}}
	for range b.N {
		if _, err := rules.Scanner(allow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewScanner(b *testing.B) {
	allow := Allowlist{Paths: []string{"docs/**"}, Regexes: []string{"^dummy-"}}
	for range b.N {
		if _, err := NewScanner(allow); err != nil {
			b.Fatal(err)
		}
	}
}
