package project

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

var (
	inCluster = Cluster{Name: "in-cluster", Server: "https://kubernetes.default.svc"}
	prod      = Cluster{Name: "production", Server: "https://prod.example.com"}
)

func mustFor(t *testing.T, c *Catalog, repo, name string, narrowing ...Project) Effective {
	t.Helper()
	e, err := c.For(repo, name, narrowing)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func defaultOnly(t *testing.T) Effective {
	t.Helper()
	c, err := NewCatalog(nil, "ferry")
	if err != nil {
		t.Fatal(err)
	}
	return mustFor(t, c, "acme/web", "")
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "https://x/y", true},
		{"acme/*", "acme/web", true},
		{"acme/*", "other/web", false},
		{"https://github.com/acme/*", "https://github.com/acme/a/b", true},
		{"prod-??", "prod-eu", true},
		{"prod-??", "prod-eu1", false},
		{"*-prod", "eu-prod", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestDefaultProject(t *testing.T) {
	e := defaultOnly(t)
	tests := []struct {
		name       string
		key        manifest.Key
		namespaced bool
		want       string // "" permitted, else part of the refusal
	}{
		{"namespaced object", manifest.Key{Kind: "ConfigMap", Namespace: "web", Name: "a"}, true, ""},
		{"kube-system", manifest.Key{Kind: "ConfigMap", Namespace: "kube-system", Name: "a"}, true, "namespace kube-system is not permitted in project default"},
		{"kube-public", manifest.Key{Kind: "ConfigMap", Namespace: "kube-public", Name: "a"}, true, "namespace kube-public"},
		{"kube-node-lease", manifest.Key{Group: "coordination.k8s.io", Kind: "Lease", Namespace: "kube-node-lease", Name: "a"}, true, "namespace kube-node-lease"},
		{"ferry's own", manifest.Key{Kind: "Pod", Namespace: "ferry", Name: "a"}, true, "namespace ferry"},
		{"cluster-admin binding", manifest.Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding", Name: "a"}, false,
			"ClusterRoleBinding is not permitted in project default"},
		{"a namespace", manifest.Key{Kind: "Namespace", Name: "web"}, false, ""},
		{"namespace kube-system itself", manifest.Key{Kind: "Namespace", Name: "kube-system"}, false, "namespace kube-system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Permits(inCluster, tt.key, tt.namespaced)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDestinations(t *testing.T) {
	p := Project{Name: "p", Repos: []string{"*"}, Destinations: []Destination{
		{Server: "https://prod.example.com", Namespace: "team-*"},
		{Name: "staging", Namespace: "*"},
		// Argo CD's deny entry: any namespace of prod but team-secret.
		{Server: "https://prod.example.com", Namespace: "!team-secret"},
	}}
	c, err := NewCatalog([]Project{p}, "")
	if err != nil {
		t.Fatal(err)
	}
	e := mustFor(t, c, "acme/web", "p")
	tests := []struct {
		cluster Cluster
		ns      string
		want    bool
	}{
		{prod, "team-a", true},
		{prod, "other", true},
		{prod, "team-secret", false},
		{Cluster{Name: "staging"}, "anything", true},
		{Cluster{Server: "https://staging.example.com"}, "anything", false}, // the name unknown: only the server counts
		{Cluster{Name: "dev", Server: "https://dev.example.com"}, "team-a", false},
	}
	for _, tt := range tests {
		if err := e.PermitsDestination(tt.cluster, tt.ns); (err == nil) != tt.want {
			t.Errorf("%+v %s: err %v, want permitted %v", tt.cluster, tt.ns, err, tt.want)
		}
	}
}

func TestResourceLists(t *testing.T) {
	p := Project{Name: "p", Repos: []string{"*"}, Destinations: []Destination{{Server: "*", Namespace: "*"}},
		ClusterResourceWhitelist:   []GroupKind{{Group: "*", Kind: "*"}},
		ClusterResourceBlacklist:   []GroupKind{{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole*"}},
		NamespaceResourceWhitelist: []GroupKind{{Group: "", Kind: "ConfigMap"}, {Group: "apps", Kind: "*"}},
		NamespaceResourceBlacklist: []GroupKind{{Group: "apps", Kind: "DaemonSet"}},
	}
	c, _ := NewCatalog([]Project{p}, "")
	e := mustFor(t, c, "acme/web", "p")
	tests := []struct {
		gk         GroupKind
		namespaced bool
		want       bool
	}{
		{GroupKind{"", "Namespace"}, false, true},
		{GroupKind{"storage.k8s.io", "StorageClass"}, false, true},
		{GroupKind{"rbac.authorization.k8s.io", "ClusterRoleBinding"}, false, false},
		{GroupKind{"", "ConfigMap"}, true, true},
		{GroupKind{"apps", "Deployment"}, true, true},
		{GroupKind{"apps", "DaemonSet"}, true, false},
		{GroupKind{"", "Secret"}, true, false},
	}
	for _, tt := range tests {
		if err := e.PermitsKind(tt.gk, tt.namespaced); (err == nil) != tt.want {
			t.Errorf("%s: err %v, want permitted %v", tt.gk, err, tt.want)
		}
	}
}

func TestSourceRepos(t *testing.T) {
	p := Project{Name: "p", Repos: []string{"*"}, SourceRepos: []string{"https://github.com/acme/*", "!https://github.com/acme/secret"}}
	c, _ := NewCatalog([]Project{p}, "")
	e := mustFor(t, c, "acme/web", "p")
	tests := []struct {
		urls []string
		want bool
	}{
		{[]string{"https://github.com/acme/web"}, true},
		{[]string{"https://GitHub.com/acme/web.git/"}, true},
		{[]string{"https://github.com/acme/secret.git"}, false},
		{[]string{"https://github.com/evil/web"}, false},
		{[]string{"", "https://github.com/evil/web", "https://github.com/acme/web"}, true},
	}
	for _, tt := range tests {
		if err := e.PermitsSource(tt.urls...); (err == nil) != tt.want {
			t.Errorf("%q: err %v, want permitted %v", tt.urls, err, tt.want)
		}
	}
	if err := mustFor(t, c, "acme/web", "p").PermitsSource("https://github.com/evil/x"); err == nil || !strings.Contains(err.Error(), "source https://github.com/evil/x is not permitted in project p") {
		t.Errorf("message %v", err)
	}
}

func TestCatalogFor(t *testing.T) {
	platform := Project{Name: "platform", Repos: []string{"acme/platform-*"}, SourceRepos: []string{"*"},
		Destinations: []Destination{{Server: "*", Namespace: "*"}}, ClusterResourceWhitelist: []GroupKind{{Group: "*", Kind: "*"}}}
	c, err := NewCatalog([]Project{platform}, "")
	if err != nil {
		t.Fatal(err)
	}
	wide := Project{Name: "platform", SourceRepos: []string{"*"}, Destinations: []Destination{{Server: "*", Namespace: "*"}},
		ClusterResourceWhitelist: []GroupKind{{Group: "*", Kind: "*"}}, Source: "projects/p.yaml:1"}
	narrow := Project{Name: "platform", SourceRepos: []string{"*"}, Destinations: []Destination{{Server: "*", Namespace: "infra"}}, Source: "projects/p.yaml:1"}
	team := Project{Name: "team", SourceRepos: []string{"*"}, Destinations: []Destination{{Server: "*", Namespace: "team"}}, Source: "projects/team.yaml:3"}
	tests := []struct {
		name, repo, project string
		narrowing           []Project
		wantErr             string
		check               func(Effective) error
		wantCheck           string
	}{
		{"unknown project", "acme/web", "nope", nil, `project "nope" is not defined (the server's configuration defines: default, platform)`, nil, ""},
		{"not granted", "acme/web", "platform", nil, "repository acme/web may not use project \"platform\": the server's configuration grants it to acme/platform-*", nil, ""},
		{"granted", "acme/platform-dns", "platform", nil, "", func(e Effective) error { return e.PermitsKind(GroupKind{"", "Node"}, false) }, ""},
		{"narrowed", "acme/platform-dns", "platform", []Project{narrow}, "",
			func(e Effective) error { return e.PermitsDestination(inCluster, "web") }, "namespace web is not permitted in project platform (narrowed by projects/p.yaml:1)"},
		{"narrowing can't widen", "acme/web", "default", []Project{{Name: "default", SourceRepos: []string{"*"},
			Destinations: []Destination{{Server: "*", Namespace: "*"}}, ClusterResourceWhitelist: []GroupKind{{Group: "*", Kind: "*"}}}}, "",
			func(e Effective) error { return e.PermitsDestination(inCluster, "kube-system") }, "namespace kube-system is not permitted in project default"},
		{"repository project narrows default", "acme/web", "team", []Project{team}, "",
			func(e Effective) error { return e.PermitsDestination(inCluster, "web") }, "(narrowed by projects/team.yaml:3)"},
		{"a wide own project stays within the server's", "acme/platform-dns", "platform", []Project{wide}, "",
			func(e Effective) error { return e.PermitsDestination(inCluster, "x") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := c.For(tt.repo, tt.project, tt.narrowing)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = tt.check(e)
			switch {
			case tt.wantCheck == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantCheck != "" && (err == nil || !strings.Contains(err.Error(), tt.wantCheck)):
				t.Errorf("err = %v, want %q", err, tt.wantCheck)
			}
		})
	}
}

func TestObjectsWithCRDs(t *testing.T) {
	objs, err := manifest.Parse([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.acme.io}
spec:
  group: acme.io
  scope: Cluster
  names: {kind: Widget, plural: widgets}
---
apiVersion: acme.io/v1
kind: Widget
metadata: {name: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: acme.io/v1
kind: Gadget
metadata: {name: g, namespace: kube-system}
`), "chart/templates/all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := defaultOnly(t).Objects(inCluster, "web", objs, WithCRDs(objs, BuiltinScope))
	var keys []string
	for _, v := range got {
		keys = append(keys, v.Key.String()+" @"+v.Source)
	}
	want := "apiextensions.k8s.io/CustomResourceDefinition/widgets.acme.io @chart/templates/all.yaml|acme.io/Widget/w @chart/templates/all.yaml|acme.io/Gadget/kube-system/g @chart/templates/all.yaml"
	if strings.Join(keys, "|") != want {
		t.Errorf("violations %q\nwant %q", strings.Join(keys, "|"), want)
	}
}

func TestSyncWindows(t *testing.T) {
	now := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC) // a Saturday
	deny := SyncWindow{Kind: "deny", Schedule: "0 22 * * *", Duration: "8h", Applications: []string{"*"}}
	denyManual := deny
	denyManual.ManualSync = true
	allow := SyncWindow{Kind: "allow", Schedule: "0 9 * * 1-5", Duration: "8h", Namespaces: []string{"prod-*"}}
	otherApp := SyncWindow{Kind: "deny", Schedule: "* * * * *", Duration: "1h", Applications: []string{"billing"}}
	berlin := SyncWindow{Kind: "deny", Schedule: "0 23 * * *", Duration: "1h", Clusters: []string{"production"}, TimeZone: "Europe/Berlin"}
	tests := []struct {
		name      string
		windows   []SyncWindow
		ns        string
		manual    bool
		allowed   bool
		opens     time.Time
		wantInMsg string
	}{
		{"no windows", nil, "web", false, true, time.Time{}, ""},
		{"deny active", []SyncWindow{deny}, "web", false, false, time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC), `sync window deny "0 22 * * *" for 8h in project p is active`},
		{"manual through a manualSync deny", []SyncWindow{denyManual}, "web", true, true, time.Time{}, ""},
		{"manual held by a plain deny", []SyncWindow{deny}, "web", true, false, time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC), "is active"},
		{"allow window closed", []SyncWindow{allow}, "prod-eu", false, false, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), "no allow sync window"},
		{"allow window selects other namespaces", []SyncWindow{allow}, "web", false, true, time.Time{}, ""},
		{"another app's window", []SyncWindow{otherApp}, "web", false, true, time.Time{}, ""},
		{"time zone", []SyncWindow{berlin}, "web", false, true, time.Time{}, ""}, // 23:00 Berlin is 22:00 UTC, over by 23:00 UTC
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Project{Name: "p", Repos: []string{"*"}, SyncWindows: tt.windows}
			c, err := NewCatalog([]Project{p}, "")
			if err != nil {
				t.Fatal(err)
			}
			w := mustFor(t, c, "acme/web", "p").SyncWindow(now, "web", tt.ns, prod, tt.manual)
			if w.Allowed != tt.allowed || !w.Opens.Equal(tt.opens) || !strings.Contains(w.Reason, tt.wantInMsg) {
				t.Errorf("window %+v, want allowed %v opening %s saying %q", w, tt.allowed, tt.opens, tt.wantInMsg)
			}
		})
	}
	berlinNow := time.Date(2026, 12, 5, 22, 30, 0, 0, time.UTC)
	c, _ := NewCatalog([]Project{{Name: "p", Repos: []string{"*"}, SyncWindows: []SyncWindow{berlin}}}, "")
	if w := mustFor(t, c, "acme/web", "p").SyncWindow(berlinNow, "web", "web", prod, false); w.Allowed {
		t.Errorf("23:30 Berlin is inside the Berlin window: %+v", w)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		window SyncWindow
		want   string
	}{
		{SyncWindow{Kind: "maybe", Schedule: "* * * * *", Duration: "1h"}, `syncWindows[0]: kind "maybe"`},
		{SyncWindow{Kind: "deny", Schedule: "61 * * * *", Duration: "1h"}, `syncWindows[0]: schedule "61 * * * *"`},
		{SyncWindow{Kind: "deny", Schedule: "* * * * *", Duration: "soon"}, `duration "soon"`},
		{SyncWindow{Kind: "deny", Schedule: "* * * * *", Duration: "1h", TimeZone: "Mars/Olympus"}, `timeZone "Mars/Olympus"`},
	}
	for _, tt := range tests {
		_, err := NewCatalog([]Project{{Name: "p", SyncWindows: []SyncWindow{tt.window}}}, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
	if _, err := NewCatalog([]Project{{Name: "p"}, {Name: "p"}}, ""); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestFromManifest(t *testing.T) {
	doc := `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team, namespace: argocd}
spec:
  description: The team's apps
  sourceRepos: [https://github.com/acme/*]
  destinations:
  - {server: https://kubernetes.default.svc, namespace: team-*}
  clusterResourceWhitelist: [{group: "", kind: Namespace}]
  namespaceResourceBlacklist: [{group: "", kind: ResourceQuota}]
  roles: [{name: ci, policies: ["p, proj:team:ci, applications, sync, team/*, allow"]}]
  syncWindows:
  - {kind: deny, schedule: "0 22 * * *", duration: 8h, applications: ["*"], manualSync: true}
`
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		t.Fatal(err)
	}
	p, err := FromManifest(manifest.New(obj, "projects/team.yaml"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "team" || p.Source != "projects/team.yaml:1" || len(p.Repos) != 0 || p.SourceRepos[0] != "https://github.com/acme/*" ||
		p.Destinations[0].Namespace != "team-*" || p.NamespaceResourceBlacklist[0].Kind != "ResourceQuota" || !p.SyncWindows[0].ManualSync {
		t.Errorf("project %+v", p)
	}
	obj["spec"].(map[string]any)["syncWindows"] = []any{map[string]any{"kind": "deny", "schedule": "nope", "duration": "1h"}}
	if _, err := FromManifest(manifest.New(obj, "projects/team.yaml"), 1); err == nil || !strings.Contains(err.Error(), "projects/team.yaml:1") {
		t.Errorf("a bad window: %v", err)
	}
}
