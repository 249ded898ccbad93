package diff

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
)

func TestUnified(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		context  int
		want     string
	}{
		{
			name: "equal",
			from: "a\nb\n", to: "a\nb\n", context: 3,
			want: "",
		},
		{
			name: "added file",
			from: "", to: "a\nb\n", context: 3,
			want: "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n",
		},
		{
			name: "removed file",
			from: "a\n", to: "", context: 3,
			want: "--- x\n+++ y\n@@ -1 +0,0 @@\n-a\n",
		},
		{
			name: "one line changed in the middle",
			from: "1\n2\n3\n4\n5\n6\n7\n8\n9\n", to: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n", context: 3,
			want: "--- x\n+++ y\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{
			name: "changes far apart make two hunks",
			from: "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", to: "one\n2\n3\n4\n5\n6\n7\n8\n9\nten\n", context: 1,
			want: "--- x\n+++ y\n@@ -1,2 +1,2 @@\n-1\n+one\n 2\n@@ -9,2 +9,2 @@\n 9\n-10\n+ten\n",
		},
		{
			name: "changes close together share a hunk",
			from: "1\n2\n3\n4\n5\n", to: "one\n2\n3\n4\nfive\n", context: 2,
			want: "--- x\n+++ y\n@@ -1,5 +1,5 @@\n-1\n+one\n 2\n 3\n 4\n-5\n+five\n",
		},
		{
			name: "zero context insertion names the line before",
			from: "1\n2\n3\n", to: "1\n2\nnew\n3\n", context: 0,
			want: "--- x\n+++ y\n@@ -2,0 +3 @@\n+new\n",
		},
		{
			name: "missing final newline",
			from: "a\nb", to: "a\nc", context: 3,
			want: "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("x", "y", tt.from, tt.to, tt.context)
			if got != tt.want {
				t.Errorf("Unified() =\n%s\nwant\n%s", got, tt.want)
			}
			if got != "" {
				checkApplies(t, got, tt.from, tt.to)
			}
		})
	}
}

// TestUnifiedRandom checks on random edits of line-oriented texts that the
// hunks are well formed, turn the old text into the new one, and agree with
// go-udiff's own formatter. That one's new-side line numbers go wrong from
// the second hunk on (it is also quadratic), so only bodies and old-side
// ranges are compared.
func TestUnifiedRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		from := randomText(rng, rng.IntN(60))
		to := mutate(rng, from)
		for _, ctx := range []int{0, 1, 3} {
			got := Unified("a", "b", from, to, ctx)
			if from == to {
				if got != "" {
					t.Fatalf("case %d: equal texts gave a diff:\n%s", i, got)
				}
				continue
			}
			checkApplies(t, got, from, to)
			if ctx == 3 {
				if want := udiff.Unified("a", "b", from, to); oldSide(got) != oldSide(want) {
					t.Fatalf("case %d: differs from udiff.Unified\nfrom:\n%s\nto:\n%s\ngot:\n%s\nwant:\n%s", i, from, to, got, want)
				}
			}
		}
	}
}

func randomText(rng *rand.Rand, n int) string {
	var sb strings.Builder
	for range n {
		fmt.Fprintf(&sb, "line %d\n", rng.IntN(8))
	}
	return sb.String()
}

func mutate(rng *rand.Rand, s string) string {
	lines := splitLines(s)
	for range rng.IntN(5) {
		switch op := rng.IntN(3); {
		case op == 0 || len(lines) == 0:
			at := rng.IntN(len(lines) + 1)
			lines = append(lines[:at], append([]string{fmt.Sprintf("new %d\n", rng.IntN(100))}, lines[at:]...)...)
		case op == 1:
			at := rng.IntN(len(lines))
			lines = append(lines[:at], lines[at+1:]...)
		default:
			lines[rng.IntN(len(lines))] = fmt.Sprintf("changed %d\n", rng.IntN(100))
		}
	}
	return strings.Join(lines, "")
}

var newRange = regexp.MustCompile(`(?m)^(@@ -\S+) \+\S+ @@$`)

func oldSide(diff string) string { return newRange.ReplaceAllString(diff, "$1") }

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// checkApplies parses diff as a unified diff, checks every hunk header
// against its body, and applies it to from, expecting to.
func checkApplies(t *testing.T, diff, from, to string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		t.Fatalf("bad diff headers:\n%s", diff)
	}
	src := splitLines(from)
	var out []string
	pos := 0 // next unconsumed line of src
	for i := 2; i < len(lines); {
		m := hunkHeader.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("line %d: want a hunk header, got %q\n%s", i, lines[i], diff)
		}
		aStart, aCount := rangeOf(m[1], m[2])
		_, bCount := rangeOf(m[3], m[4])
		// An empty range names the line before it.
		first := aStart - 1
		if aCount == 0 {
			first = aStart
		}
		if first < pos {
			t.Fatalf("hunk %q overlaps the previous one", lines[i])
		}
		out = append(out, src[pos:first]...)
		pos = first
		i++
		var gotA, gotB int
		for i < len(lines) && !strings.HasPrefix(lines[i], "@@") {
			l := lines[i]
			text := l[1:] + "\n"
			if i+1 < len(lines) && lines[i+1] == `\ No newline at end of file` {
				text = l[1:]
				i++
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(src) || src[pos] != text {
					t.Fatalf("line %q does not match source line %d", l, pos+1)
				}
				pos++
				gotA++
				if l[0] == ' ' {
					out = append(out, text)
					gotB++
				}
			case '+':
				out = append(out, text)
				gotB++
			default:
				t.Fatalf("unexpected line %q", l)
			}
			i++
		}
		if gotA != aCount || gotB != bCount {
			t.Fatalf("hunk %q has %d/%d lines", m[0], gotA, gotB)
		}
	}
	out = append(out, src[pos:]...)
	if got := strings.Join(out, ""); got != to {
		t.Fatalf("applying the diff gave\n%q\nwant\n%q\ndiff:\n%s", got, to, diff)
	}
}

func rangeOf(start, count string) (int, int) {
	s, _ := strconv.Atoi(start)
	if count == "" {
		return s, 1
	}
	n, _ := strconv.Atoi(count)
	return s, n
}

// BenchmarkUnifiedLarge diffs a 20,000-line text with a change every ten
// lines: the shape of a regenerated CRD or a big ConfigMap.
func BenchmarkUnifiedLarge(b *testing.B) {
	var from, to strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&from, "  key-%d: value-%d\n", i, i)
		if i%10 == 0 {
			fmt.Fprintf(&to, "  key-%d: changed-%d\n", i, i)
			continue
		}
		fmt.Fprintf(&to, "  key-%d: value-%d\n", i, i)
	}
	b.ReportAllocs()
	for b.Loop() {
		if Unified("a", "b", from.String(), to.String(), 3) == "" {
			b.Fatal("no diff")
		}
	}
}
