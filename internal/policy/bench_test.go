package policy

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkEvaluate decides on a pull request touching 20 environments
// (every fourth one production) with 10 reviews, defaults plus one
// repository policy.
func BenchmarkEvaluate(b *testing.B) {
	e := newEngine(b, map[string]string{".ferry/policies/crd.rego": extendPolicy})
	var envs []Environment
	for i := range 20 {
		name := fmt.Sprintf("payments-%02d", i)
		if i%4 == 0 {
			name = fmt.Sprintf("payments-prod-%02d", i)
		}
		envs = append(envs, Environment{Name: name, Namespace: name, Status: "changed", Changed: 3,
			Kinds: Kinds{Changed: []string{"ConfigMap", "Deployment", "Service"}}})
	}
	var reviews []Review
	for i := range 10 {
		reviews = append(reviews, review(fmt.Sprintf("user%d", i), Approved, "write", i%3 != 0, "sre"))
	}
	in := pr(envs, reviews...)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		d, err := e.Evaluate(ctx, in)
		if err != nil || !d.Allowed {
			b.Fatalf("Evaluate = %+v, %v", d, err)
		}
	}
}
