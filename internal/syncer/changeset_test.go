package syncer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

func TestChangeSetText(t *testing.T) {
	dep := manifest.Key{Group: "apps", Kind: "Deployment", Namespace: "production", Name: "payment-service"}
	cs := &ChangeSet{App: "payment-service", Changes: []Change{
		{Key: manifest.Key{Kind: "Namespace", Name: "production"}, Action: Created},
		{Key: cmKey("production", "payment-service-config"), Action: Unchanged},
		{Key: dep, Action: Failed, Error: `Deployment.apps "payment-service" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`},
		{Key: cmKey("production", "old|config"), Action: PruneSkipped, Error: "sync option Prune=false"},
	}}
	if got, want := cs.Summary(), "1 created, 1 unchanged, 1 prune-skipped, 1 failed"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	wantText := `payment-service: 1 created, 1 unchanged, 1 prune-skipped, 1 failed
  created       Namespace/production
  unchanged     ConfigMap/production/payment-service-config
  failed        apps/Deployment/production/payment-service: Deployment.apps "payment-service" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0
  prune-skipped ConfigMap/production/old|config: sync option Prune=false
`
	if got := cs.String(); got != wantText {
		t.Errorf("String:\n%s\nwant:\n%s", got, wantText)
	}
	if got := (&ChangeSet{App: "x"}).Summary(); got != "no objects" {
		t.Errorf("empty Summary = %q", got)
	}
	if keys := cs.Keys(Created, Unchanged); len(keys) != 2 || keys[1].Name != "payment-service-config" {
		t.Errorf("Keys = %v", keys)
	}
}

func TestTracking(t *testing.T) {
	tests := []struct {
		app, wantLabel string
	}{
		{"payment-service", "payment-service"},
		{"Payment.Service_2", "Payment.Service_2"},
		{"team/app", ""},
		{strings.Repeat("a", 64), ""},
	}
	for _, tt := range tests {
		got := AppLabelValue(tt.app)
		if tt.wantLabel != "" && got != tt.wantLabel {
			t.Errorf("AppLabelValue(%q) = %q, want %q", tt.app, got, tt.wantLabel)
		}
		if tt.wantLabel == "" && (!strings.HasPrefix(got, "sha256-") || len(got) > 63 || got == AppLabelValue(tt.app+"x")) {
			t.Errorf("AppLabelValue(%q) = %q, want a distinct hash label", tt.app, got)
		}
	}
	if id := TrackingID("payment-service", cmKey("production", "settings")); id != "payment-service:/ConfigMap:production/settings" {
		t.Errorf("TrackingID = %q", id)
	}
	if id := TrackingID("a", manifest.Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "r"}); id != "a:rbac.authorization.k8s.io/ClusterRole:/r" {
		t.Errorf("TrackingID = %q", id)
	}
}

func TestOptionsFor(t *testing.T) {
	f := false
	tr := true
	tests := []struct {
		name string
		env  environment.Environment
		want func(*Options)
	}{
		{"no sync policy: a manual sync", environment.Environment{Name: "web", Destination: environment.Destination{Namespace: "prod"}},
			func(o *Options) {}},
		{"the seed's Application", environment.Environment{Name: "payment-service", Destination: environment.Destination{Namespace: "production"},
			SyncPolicy: &environment.SyncPolicy{
				Automated:   &environment.Automated{Prune: true, SelfHeal: true, AllowEmpty: &f},
				SyncOptions: []string{"CreateNamespace=true"},
			}},
			func(o *Options) { o.Prune, o.AllowEmpty, o.CreateNamespace = true, false, true }},
		{"automated without allowEmpty", environment.Environment{Name: "web", SyncPolicy: &environment.SyncPolicy{Automated: &environment.Automated{}}},
			func(o *Options) { o.AllowEmpty = false }},
		{"automated allowing empty", environment.Environment{Name: "web", SyncPolicy: &environment.SyncPolicy{Automated: &environment.Automated{AllowEmpty: &tr}}},
			func(o *Options) {}},
		{"automation turned off", environment.Environment{Name: "web", SyncPolicy: &environment.SyncPolicy{Automated: &environment.Automated{Enabled: &f, Prune: true}}},
			func(o *Options) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := DefaultOptions()
			want.App, want.LegacyApp = "acme/web/"+tt.env.Name, tt.env.Name
			want.Namespace = tt.env.Destination.Namespace
			tt.want(&want)
			if got := OptionsFor("acme/web", tt.env); !reflect.DeepEqual(got, want) {
				t.Errorf("OptionsFor = %+v\nwant %+v", got, want)
			}
		})
	}
}
