package appset

import (
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/repofs"
)

// BenchmarkExpand measures expansion: every ApplicationSet of the test
// repository (each generator, both template styles) per iteration, and one
// ApplicationSet that generates the limit of 1000 Applications from a Go
// template with loops, functions and a templatePatch.
func BenchmarkExpand(b *testing.B) {
	b.Run("testdata", func(b *testing.B) {
		tree, err := repofs.OpenDir(testRepo)
		if err != nil {
			b.Fatal(err)
		}
		clusters := testClusters(b)
		var docs []string
		for _, f := range tree.Files() {
			if path.Dir(f) == "appsets" {
				docs = append(docs, f)
			}
		}
		apps := 0
		for i := 0; i < b.N; i++ {
			apps = 0
			for _, file := range docs {
				data, err := tree.ReadFile(file)
				if err != nil {
					b.Fatal(err)
				}
				exp, err := Expand(tree, file, firstDoc(b, data), Options{RepoURL: testRepoURL, Clusters: clusters, SameRepo: sameRepo})
				if err != nil {
					b.Fatal(err)
				}
				apps += len(exp.Applications)
			}
		}
		b.ReportMetric(float64(apps), "apps")
	})
	b.Run("1000-apps", func(b *testing.B) {
		var sb strings.Builder
		sb.WriteString("- list:\n    elements:\n")
		for i := 0; i < defaultLimits.Applications; i++ {
			fmt.Fprintf(&sb, "    - {idx: %d, name: App_%d, tags: [a, b, c], cfg: {team: t%d, tier: web}}\n", i, i, i%7)
		}
		tpl := "metadata:\n  name: '{{ normalize .name }}-{{ .idx }}'\n  labels: {team: '{{ .cfg.team | upper }}'}\n" +
			"spec:\n  project: default\n  source: {repoURL: r, path: 'apps/{{ join \"_\" .tags }}'}\n  destination: {server: 'https://{{ .cfg.tier }}', namespace: '{{ .cfg.team }}'}\n"
		text := appset(true, sb.String(), tpl) + "  templatePatch: |\n    metadata: {annotations: {cfg: '{{ toJson .cfg }}'}}\n"
		for i := 0; i < b.N; i++ {
			exp, err := expandText(b, nil, text, Options{}, defaultLimits)
			if err != nil || len(exp.Applications) != defaultLimits.Applications {
				b.Fatalf("%v, %v", exp, err)
			}
		}
	})
}
