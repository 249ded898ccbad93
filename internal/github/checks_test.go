package github

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

const truncatedNote = "\n\n… (truncated)"

var headSHA = strings.Repeat("ab", 20)

func annotations(n int) []Annotation {
	out := make([]Annotation, n)
	for i := range out {
		out[i] = Annotation{
			Path: fmt.Sprintf("apps/web-%03d.yaml", i), StartLine: i + 1, EndLine: i + 2,
			Level: "warning", Title: "drift", Message: fmt.Sprintf("finding %d", i),
		}
	}
	return out
}

// updateBody is what ferry sent in one checks/update call.
type updateBody struct {
	Status     *string `json:"status"`
	Conclusion *string `json:"conclusion"`
	Output     *struct {
		Title       string `json:"title"`
		Summary     string `json:"summary"`
		Annotations []struct {
			Path      string `json:"path"`
			StartLine int    `json:"start_line"`
			EndLine   int    `json:"end_line"`
			Message   string `json:"message"`
		} `json:"annotations"`
	} `json:"output"`
}

func TestCheckRunAnnotationBatches(t *testing.T) {
	tests := []struct {
		annotations int
		wantBatches []int // annotations per checks/update call
	}{
		{0, []int{0}},
		{1, []int{1}},
		{50, []int{50}},
		{51, []int{50, 1}},
		{120, []int{50, 50, 20}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.annotations), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			id, err := e.client.StartCheckRun(ctx, e.repo, "ferry/preview", headSHA, "Rendering")
			if err != nil {
				t.Fatalf("StartCheckRun: %v", err)
			}
			runs := e.gh.CheckRuns("acme", "app", headSHA)
			if len(runs) != 1 || runs[0].ID != id || runs[0].Status != "in_progress" || runs[0].Name != "ferry/preview" ||
				runs[0].Title != "Rendering" || runs[0].StartedAt.IsZero() {
				t.Fatalf("after start, runs = %+v; want one in-progress run %d", runs, id)
			}

			out := CheckOutput{Title: "3 changes", Summary: "summary", Text: "details", Annotations: annotations(tc.annotations)}
			if err := e.client.CompleteCheckRun(ctx, e.repo, id, "ferry/preview", "failure", out); err != nil {
				t.Fatalf("CompleteCheckRun: %v", err)
			}

			calls := e.gh.CallsTo("checks/update")
			if len(calls) != len(tc.wantBatches) {
				t.Fatalf("%d checks/update calls, want %d", len(calls), len(tc.wantBatches))
			}
			sent := 0
			for i, c := range calls {
				var b updateBody
				if err := json.Unmarshal(c.Body, &b); err != nil {
					t.Fatal(err)
				}
				if b.Output == nil || len(b.Output.Annotations) != tc.wantBatches[i] {
					t.Fatalf("update %d carried %+v, want %d annotations", i, b.Output, tc.wantBatches[i])
				}
				for j, a := range b.Output.Annotations {
					if want := fmt.Sprintf("finding %d", sent+j); a.Message != want {
						t.Errorf("update %d annotation %d = %q, want %q", i, j, a.Message, want)
					}
				}
				sent += len(b.Output.Annotations)
				last := i == len(calls)-1
				if (b.Conclusion != nil) != last || (b.Status != nil && *b.Status == "completed") != last {
					t.Errorf("update %d: status %v conclusion %v; only the last update completes the run", i, b.Status, b.Conclusion)
				}
				if b.Output.Title != "3 changes" || b.Output.Summary != "summary" {
					t.Errorf("update %d output title %q summary %q", i, b.Output.Title, b.Output.Summary)
				}
			}

			runs = e.gh.CheckRuns("acme", "app", headSHA)
			if len(runs) != 1 {
				t.Fatalf("%d runs, want 1", len(runs))
			}
			run := runs[0]
			if run.Status != "completed" || run.Conclusion != "failure" || run.CompletedAt.IsZero() || run.Updates != len(tc.wantBatches) {
				t.Errorf("run = status %q conclusion %q completed %v updates %d", run.Status, run.Conclusion, run.CompletedAt, run.Updates)
			}
			if run.Title != "3 changes" || run.Summary != "summary" || run.Text != "details" {
				t.Errorf("run output = %q / %q / %q", run.Title, run.Summary, run.Text)
			}
			if len(run.Annotations) != tc.annotations {
				t.Fatalf("run has %d annotations, want %d", len(run.Annotations), tc.annotations)
			}
			for i, a := range run.Annotations {
				want := annotations(tc.annotations)[i]
				if a.Path != want.Path || a.StartLine != want.StartLine || a.EndLine != want.EndLine ||
					a.AnnotationLevel != want.Level || a.Message != want.Message || a.Title != want.Title {
					t.Errorf("annotation %d = %+v, want %+v", i, a, want)
				}
			}
		})
	}
}

func TestAnnotationLines(t *testing.T) {
	tests := []struct {
		start, end         int
		wantStart, wantEnd int
	}{
		{3, 5, 3, 5},
		{3, 3, 3, 3},
		{7, 0, 7, 7}, // no end: the start line
		{7, 2, 7, 7}, // end before start
		{0, 0, 1, 1}, // no line: the first
		{-4, 0, 1, 1},
	}
	in := make([]Annotation, len(tests))
	for i, tc := range tests {
		in[i] = Annotation{Path: "a.yaml", StartLine: tc.start, EndLine: tc.end, Level: "notice", Message: "m"}
	}
	batches := batchAnnotations(in)
	if len(batches) != 1 || len(batches[0]) != len(tests) {
		t.Fatalf("batches = %d", len(batches))
	}
	for i, tc := range tests {
		a := batches[0][i]
		if a.GetStartLine() != tc.wantStart || a.GetEndLine() != tc.wantEnd {
			t.Errorf("lines %d-%d sent as %d-%d, want %d-%d", tc.start, tc.end, a.GetStartLine(), a.GetEndLine(), tc.wantStart, tc.wantEnd)
		}
		if a.Title != nil {
			t.Errorf("empty title sent as %q, want it left out", *a.Title)
		}
	}
}

func TestCheckRunOutputClipped(t *testing.T) {
	lines := func(line string, total int) string {
		var b strings.Builder
		for b.Len() < total {
			b.WriteString(line)
			b.WriteByte('\n')
		}
		return b.String()
	}
	tests := []struct {
		name    string
		summary string
		clipped bool
	}{
		{"exactly the limit", strings.Repeat("x", maxCheckOutputChars), false},
		{"ascii lines", lines("- apps/web: image web:1 -> web:2", 100_000), true},
		{"one long ascii line", strings.Repeat("x", 70_000), true},
		{"two-byte runes, no newline", strings.Repeat("é", 40_000), true},
		{"three-byte runes, no newline", strings.Repeat("€", 30_000), true},
		{"four-byte runes, no newline", strings.Repeat("🚀", 20_000), true},
		{"three-byte runes in lines", lines(strings.Repeat("€", 100), 100_000), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			id, err := e.client.StartCheckRun(ctx, e.repo, "ferry/preview", headSHA, "Rendering")
			if err != nil {
				t.Fatal(err)
			}
			out := CheckOutput{Title: "big", Summary: tc.summary, Text: tc.summary}
			if err := e.client.CompleteCheckRun(ctx, e.repo, id, "ferry/preview", "success", out); err != nil {
				t.Fatalf("CompleteCheckRun: %v", err)
			}
			run := e.gh.CheckRuns("acme", "app", headSHA)[0]
			for field, got := range map[string]string{"summary": run.Summary, "text": run.Text} {
				if len(got) > maxCheckOutputChars || !utf8.ValidString(got) {
					t.Errorf("%s: %d bytes, valid UTF-8 %v; want at most %d valid bytes", field, len(got), utf8.ValidString(got), maxCheckOutputChars)
				}
				if !tc.clipped {
					if got != tc.summary {
						t.Errorf("%s changed although within the limit", field)
					}
					continue
				}
				kept, ok := strings.CutSuffix(got, truncatedNote)
				if !ok || !strings.HasPrefix(tc.summary, kept) {
					t.Errorf("%s does not end with the truncation note after a prefix of the input: ...%q", field, got[max(len(got)-40, 0):])
				}
				// As much is kept as fits: at most one line (or rune) less.
				if strings.Contains(tc.summary, "\n") {
					if !strings.HasSuffix(kept, "\n") || len(kept)+len(truncatedNote)+strings.Index(tc.summary, "\n")+1 < maxCheckOutputChars {
						t.Errorf("%s kept %d bytes, want whole lines up to the limit", field, len(kept))
					}
				} else if len(kept)+len(truncatedNote)+utf8.UTFMax <= maxCheckOutputChars {
					t.Errorf("%s kept %d bytes, want as many whole runes as fit", field, len(kept))
				}
			}
		})
	}
}

func TestCheckRunErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.client.StartCheckRun(ctx, e.repo, "ferry/preview", "not-a-sha", "Rendering"); err == nil ||
		!strings.Contains(err.Error(), "create check run ferry/preview on acme/app@not-a-sha") {
		t.Errorf("StartCheckRun on a bad sha = %v", err)
	}
	id, err := e.client.StartCheckRun(ctx, e.repo, "ferry/preview", headSHA, "Rendering")
	if err != nil {
		t.Fatal(err)
	}
	// A batch that fails stops before the run is completed.
	e.gh.FailNext("checks/update", 422, 1, nil)
	err = e.client.CompleteCheckRun(ctx, e.repo, id, "ferry/preview", "success", CheckOutput{Title: "t", Summary: "s", Annotations: annotations(60)})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("annotate check run %d", id)) {
		t.Errorf("CompleteCheckRun with a failing batch = %v", err)
	}
	if n := len(e.gh.CallsTo("checks/update")); n != 1 {
		t.Errorf("%d checks/update calls after the first failed, want 1", n)
	}
	if run := e.gh.CheckRuns("acme", "app", headSHA)[0]; run.Status != "in_progress" {
		t.Errorf("run status = %q, want it left in progress", run.Status)
	}
	if err := e.client.CompleteCheckRun(ctx, e.repo, id+1000, "ferry/preview", "success", CheckOutput{Title: "t", Summary: "s"}); !IsNotFound(err) {
		t.Errorf("completing a missing run = %v, want a 404", err)
	}
}

// TestCheckRunIDs: the App's latest run of each name on a commit, found
// with the App's id as the filter.
func TestCheckRunIDs(t *testing.T) {
	tests := []struct {
		name   string
		create []string       // check runs made on the commit, in order
		want   map[string]int // name → index in create of the run found
	}{
		{"none", nil, map[string]int{}},
		{"one of each", []string{"ferry/diff", "ferry/policy"}, map[string]int{"ferry/diff": 0, "ferry/policy": 1}},
		{"the newest of a name", []string{"ferry/diff", "ferry/policy", "ferry/diff"}, map[string]int{"ferry/diff": 2, "ferry/policy": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			var made []int64
			for _, name := range tc.create {
				id, err := e.client.StartCheckRun(ctx, e.repo, name, headSHA, "Rendering")
				if err != nil {
					t.Fatal(err)
				}
				made = append(made, id)
			}
			got, err := e.client.CheckRunIDs(ctx, e.repo, headSHA)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{}
			for name, i := range tc.want {
				want[name] = made[i]
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("CheckRunIDs = %v, want %v", got, want)
			}
			calls := e.gh.CallsTo("checks/list-for-ref")
			if len(calls) != 1 || calls[0].Query.Get("app_id") != fmt.Sprint(testAppID) {
				t.Errorf("calls %+v, want one filtered by app_id %d", calls, testAppID)
			}
		})
	}
}
