package backoff

import (
	"math"
	"testing"
	"time"
)

func TestExponentialDelay(t *testing.T) {
	queue := Exponential{Base: time.Second, Factor: 2, Max: 5 * time.Minute}
	syncRetry := Exponential{Base: 5 * time.Second, Factor: 2, Max: 3 * time.Minute}
	selfHeal := Exponential{Base: 2 * time.Second, Factor: 3, Max: 5 * time.Minute}
	for _, tc := range []struct {
		name string
		e    Exponential
		n    int
		want time.Duration
	}{
		{"first try waits nothing", queue, 0, 0},
		{"negative is the first try", queue, -3, 0},
		{"first retry waits Base", queue, 1, time.Second},
		{"doubles", queue, 2, 2 * time.Second},
		{"doubles again", queue, 5, 16 * time.Second},
		{"last below the cap", queue, 9, 256 * time.Second},
		{"capped", queue, 10, 5 * time.Minute},
		{"huge n stays capped", queue, math.MaxInt, 5 * time.Minute},

		// A sync's retry after failed attempt 0, 1, 2 … is retry 1, 2, 3 ….
		{"sync retry after attempt 0", syncRetry, 1, 5 * time.Second},
		{"sync retry after attempt 1", syncRetry, 2, 10 * time.Second},
		{"sync retry after attempt 2", syncRetry, 3, 20 * time.Second},
		{"sync retry capped at 3m", syncRetry, 7, 3 * time.Minute},

		// Self-heal after n earlier heals: at once, then 2s, 6s, 18s … 5m.
		{"first heal at once", selfHeal, 0, 0},
		{"second heal", selfHeal, 1, 2 * time.Second},
		{"third heal", selfHeal, 2, 6 * time.Second},
		{"fourth heal", selfHeal, 3, 18 * time.Second},
		{"sixth heal", selfHeal, 5, 162 * time.Second},
		{"seventh heal capped", selfHeal, 6, 5 * time.Minute},

		{"factor below 2 is constant", Exponential{Base: time.Second, Factor: 1, Max: time.Minute}, 50, time.Second},
		{"zero factor is constant", Exponential{Base: time.Second}, 50, time.Second},
		{"Base above Max is capped", Exponential{Base: time.Hour, Factor: 2, Max: time.Minute}, 1, time.Minute},
		{"no Base, no wait", Exponential{Factor: 2, Max: time.Minute}, 4, 0},
		{"uncapped grows", Exponential{Base: time.Second, Factor: 10}, 4, 1000 * time.Second},
		{"uncapped saturates instead of overflowing", Exponential{Base: time.Second, Factor: 10}, 100, math.MaxInt64},
		{"large factor saturates", Exponential{Base: time.Hour, Factor: math.MaxInt64, Max: 48 * time.Hour}, 2, 48 * time.Hour},
	} {
		if got := tc.e.Delay(tc.n); got != tc.want {
			t.Errorf("%s: %+v.Delay(%d) = %v, want %v", tc.name, tc.e, tc.n, got, tc.want)
		}
	}
}
