package syncer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestPlan(t *testing.T) {
	objs := parse(t,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}",
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {argocd.argoproj.io/sync-wave: \"-1\"}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}",
		"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}",
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}",
		"apiVersion: v1\nkind: Service\nmetadata:\n  name: late\n  annotations: {argocd.argoproj.io/sync-wave: \" 10 \"}",
		"apiVersion: v1\nkind: Secret\nmetadata:\n  name: typo\n  annotations: {argocd.argoproj.io/sync-wave: \"1O\"}",
	)
	waves, err := plan(objs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range waves {
		var groups []string
		for _, g := range w.groups {
			var names []string
			for _, o := range g {
				names = append(names, o.Key.Kind+"/"+o.Key.Name)
			}
			groups = append(groups, strings.Join(names, ","))
		}
		got = append(got, fmt.Sprintf("%d: %s", w.number, strings.Join(groups, " | ")))
	}
	want := []string{
		"-1: Job/migrate",
		"0: Namespace/prod | CustomResourceDefinition/widgets.example.com | Secret/typo | ConfigMap/a,ConfigMap/b | Deployment/web | Widget/w",
		"10: Service/late",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
