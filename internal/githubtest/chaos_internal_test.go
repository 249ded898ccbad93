package githubtest

import (
	"cmp"
	"testing"
	"time"
)

// TestChaosDecide: what the chaos does to a sequence of calls, on a clock
// the test moves.
func TestChaosDecide(t *testing.T) {
	type call struct {
		operation    string
		installation int64
		at           time.Duration // since the start
		want         string
		wantWait     time.Duration
	}
	tests := []struct {
		name  string
		o     ChaosOptions
		calls []call
	}{
		{"every 502 before the effect", ChaosOptions{Fail502: 1}, []call{
			{"", 1, 0, Injected502, 0}, {"", 1, 0, Injected502, 0},
		}},
		{"every 502 after the effect", ChaosOptions{Fail502: 1, After: 1}, []call{
			{"", 1, 0, Injected502After, 0}, {"", 1, 0, Injected502After, 0},
		}},
		{"no 502s", ChaosOptions{Fail502: 0, After: 1, SecondaryEvery: 100}, []call{
			{"", 1, 0, "", 0}, {"", 1, 0, "", 0}, {"", 1, 0, "", 0},
		}},
		{"the App's own calls are spared", ChaosOptions{Fail502: 1, SecondaryEvery: 1}, []call{
			{"", 0, 0, "", 0}, {"", 1, 0, InjectedLimit, time.Second}, {"", 0, 0, "", 0},
		}},
		{"the App's own calls too with AppJWT", ChaosOptions{Fail502: 1, AppJWT: true}, []call{
			{"", 0, 0, Injected502, 0},
		}},
		{"only the operations named", ChaosOptions{Fail502: 1, Operations: []string{"checks/create"}}, []call{
			{"issues/get", 1, 0, "", 0}, {"checks/create", 1, 0, Injected502, 0},
		}},
		{"every third call limited, refused while it holds", ChaosOptions{SecondaryEvery: 3, RetryAfter: 2}, []call{
			{"", 1, 0, "", 0}, {"", 1, 0, "", 0},
			{"", 1, 0, InjectedLimit, 2 * time.Second},
			{"", 1, 500 * time.Millisecond, InjectedLimit, 1500 * time.Millisecond}, // not counted
			{"", 2, 500 * time.Millisecond, "", 0},                                  // another installation is not limited
			{"", 1, 2 * time.Second, "", 0},
			{"", 1, 2 * time.Second, InjectedLimit, 2 * time.Second},
		}},
	}
	start := time.Unix(1_700_000_000, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{}
			s.Chaos(tc.o)
			for i, c := range tc.calls {
				got, wait := s.chaos.decide(cmp.Or(c.operation, "issues/get"), c.installation, start.Add(c.at))
				if got != c.want || wait != c.wantWait {
					t.Errorf("call %d: %q, wait %v; want %q, wait %v", i, got, wait, c.want, c.wantWait)
				}
			}
		})
	}
}

// TestChaosIsRepeatable: one seed, one sequence of faults; another seed,
// another; Chaos(ChaosOptions{}) ends them.
func TestChaosIsRepeatable(t *testing.T) {
	run := func(seed uint64) []string {
		s := &Server{}
		s.Chaos(ChaosOptions{Seed: seed, Fail502: 0.3, After: 0.5})
		var out []string
		for range 200 {
			got, _ := s.chaos.decide("issues/get", 1, time.Now())
			out = append(out, got)
		}
		return out
	}
	first, again, other := run(7), run(7), run(8)
	counts := map[string]int{}
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("call %d: %q then %q with the same seed", i, first[i], again[i])
		}
		counts[first[i]]++
	}
	if counts[Injected502] == 0 || counts[Injected502After] == 0 || counts[""] < 100 {
		t.Errorf("faults %v out of 200 calls at 30%%, half after the effect", counts)
	}
	same := 0
	for i := range first {
		if first[i] == other[i] {
			same++
		}
	}
	if same == len(first) {
		t.Error("another seed drew the same faults")
	}
	s := &Server{}
	s.Chaos(ChaosOptions{Fail502: 1})
	s.Chaos(ChaosOptions{})
	if got, _ := s.chaos.decide("issues/get", 1, time.Now()); got != "" {
		t.Errorf("after Chaos(ChaosOptions{}): %q", got)
	}
}
