package drift

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// mf is a managedFields entry; fields is FieldsV1 JSON.
func mf(manager string, op metav1.ManagedFieldsOperationType, at time.Time, fields string) metav1.ManagedFieldsEntry {
	t := metav1.NewTime(at)
	return metav1.ManagedFieldsEntry{
		Manager: manager, Operation: op, APIVersion: "apps/v1", Time: &t,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)},
	}
}

func fromJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return m
}

// ferryDeployment is ferry's managedFields entry for wantDeployment.
const ferryDeployment = `{"f:metadata":{"f:labels":{"f:app":{},"f:team":{}}},
 "f:spec":{"f:replicas":{},"f:selector":{},
  "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
   "f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:image":{},
     "f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}},
     "f:resources":{"f:requests":{"f:cpu":{}}}}}}}}}`

const wantDeployment = `{"apiVersion":"apps/v1","kind":"Deployment",
 "metadata":{"name":"web","labels":{"app":"web","team":"a"}},
 "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
  "template":{"metadata":{"labels":{"app":"web"}},
   "spec":{"containers":[{"name":"app","image":"web:1","ports":[{"containerPort":8080}],
     "resources":{"requests":{"cpu":"0.1"}}}]}}}}`

// liveDeployment is wantDeployment as the server keeps it: defaulted,
// normalized, with status and others' annotations; edit changes it.
func liveDeployment(t *testing.T, edit func(m map[string]any)) map[string]any {
	m := fromJSON(t, `{"apiVersion":"apps/v1","kind":"Deployment",
 "metadata":{"name":"web","namespace":"ns","uid":"u1","resourceVersion":"42","generation":3,
  "creationTimestamp":"2026-01-01T00:00:00Z",
  "labels":{"app":"web","team":"a"},
  "annotations":{"deployment.kubernetes.io/revision":"1"}},
 "spec":{"replicas":3,"revisionHistoryLimit":10,"selector":{"matchLabels":{"app":"web"}},
  "template":{"metadata":{"labels":{"app":"web"}},
   "spec":{"containers":[{"name":"app","image":"web:1","imagePullPolicy":"IfNotPresent",
     "ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"requests":{"cpu":"100m"}}},
    {"name":"sidecar","image":"proxy:2"}]}}},
 "status":{"replicas":3,"readyReplicas":1}}`)
	if edit != nil {
		edit(m)
	}
	return m
}

func container(m map[string]any) map[string]any {
	return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
}

func TestCompare(t *testing.T) {
	ferryAt := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	later := ferryAt.Add(time.Hour)
	ferry := mf("ferry", metav1.ManagedFieldsOperationApply, ferryAt, ferryDeployment)
	tests := []struct {
		name         string
		edit         func(m map[string]any)
		managed      []metav1.ManagedFieldsEntry
		wantFields   []string
		wantManagers []string
	}{
		{
			name: "in sync: defaults, status, normalized quantities and others' annotations are not drift",
			managed: []metav1.ManagedFieldsEntry{ferry,
				mf("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, later,
					`{"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:replicas":{}}}`),
				mf("istio", metav1.ManagedFieldsOperationUpdate, later,
					`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"sidecar\"}":{".":{},"f:image":{}}}}}}}`),
			},
		},
		{
			name: "replicas taken over by kubectl-scale",
			edit: func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = int64(5) },
			managed: []metav1.ManagedFieldsEntry{
				mf("ferry", metav1.ManagedFieldsOperationApply, ferryAt, `{"f:metadata":{"f:labels":{"f:app":{},"f:team":{}}}}`),
				mf("kubectl-scale", metav1.ManagedFieldsOperationApply, later, `{"f:spec":{"f:replicas":{}}}`),
			},
			wantFields:   []string{"spec.replicas"},
			wantManagers: []string{"kubectl-scale"},
		},
		{
			name:    "a value only ferry owns is ferry's, even when it differs (a newer desired state)",
			edit:    func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = int64(5) },
			managed: []metav1.ManagedFieldsEntry{ferry},
		},
		{
			name: "container image edited: keyed list element",
			edit: func(m map[string]any) { container(m)["image"] = "web:evil" },
			managed: []metav1.ManagedFieldsEntry{ferry,
				mf("kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate, later,
					`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`),
			},
			wantFields:   []string{"spec.template.spec.containers[name=app].image"},
			wantManagers: []string{"kubectl-client-side-apply"},
		},
		{
			name: "atomic selector replaced by another manager",
			edit: func(m map[string]any) {
				m["spec"].(map[string]any)["selector"] = map[string]any{"matchLabels": map[string]any{"app": "other"}}
			},
			managed: []metav1.ManagedFieldsEntry{ferry,
				mf("kubectl-edit", metav1.ManagedFieldsOperationUpdate, later, `{"f:spec":{"f:selector":{}}}`),
			},
			wantFields:   []string{"spec.selector"},
			wantManagers: []string{"kubectl-edit"},
		},
		{
			name: "label removed: nobody owns it, the last writer is blamed",
			edit: func(m map[string]any) { delete(m["metadata"].(map[string]any)["labels"].(map[string]any), "team") },
			managed: []metav1.ManagedFieldsEntry{
				mf("ferry", metav1.ManagedFieldsOperationApply, ferryAt, `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{}}}`),
				mf("kubectl-edit", metav1.ManagedFieldsOperationUpdate, later, `{"f:metadata":{"f:annotations":{"f:note":{}}}}`),
			},
			wantFields:   []string{"metadata.labels.team"},
			wantManagers: []string{"kubectl-edit"},
		},
		{
			name: "a quantity another manager wrote in another spelling is the same",
			edit: func(m map[string]any) {
				container(m)["resources"].(map[string]any)["requests"].(map[string]any)["cpu"] = "100m"
			},
			managed: []metav1.ManagedFieldsEntry{ferry,
				mf("vpa", metav1.ManagedFieldsOperationUpdate, later,
					`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:resources":{"f:requests":{"f:cpu":{}}}}}}}}}`),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := &unstructured.Unstructured{Object: liveDeployment(t, tt.edit)}
			live.SetManagedFields(tt.managed)
			want := manifest.New(fromJSON(t, wantDeployment), "web.yaml")
			fields, managers := compareFields(live, want)
			if !slices.Equal(fields, tt.wantFields) || !slices.Equal(managers, tt.wantManagers) {
				t.Errorf("compare = %q, %q; want %q, %q", fields, managers, tt.wantFields, tt.wantManagers)
			}
		})
	}
}

func TestCompareSecretRedacted(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	want := fromJSON(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"hunter2"},"data":{"user":"YWRtaW4="}}`)
	live := &unstructured.Unstructured{Object: fromJSON(t, `{"apiVersion":"v1","kind":"Secret",
 "metadata":{"name":"db","namespace":"ns"},"type":"Opaque","data":{"user":"YWRtaW4=","password":"c3dvcmRmaXNo"}}`)}
	live.SetManagedFields([]metav1.ManagedFieldsEntry{
		mf("ferry", metav1.ManagedFieldsOperationApply, at, `{"f:data":{"f:user":{}},"f:stringData":{"f:password":{}}}`),
		mf("kubectl-edit", metav1.ManagedFieldsOperationUpdate, at.Add(time.Minute), `{"f:data":{"f:password":{}}}`),
	})
	diffs := compare(live, want, "ferry")
	if len(diffs) != 1 || diffs[0].field != "data.password" || !slices.Equal(diffs[0].managers, []string{"kubectl-edit"}) {
		t.Fatalf("diffs = %+v, want data.password by kubectl-edit", diffs)
	}
	lv, wv := values(diffs, isSecret(live))
	if lv["data.password"] != Redacted || wv["data.password"] != Redacted {
		t.Errorf("values = %v, %v; want both %q", lv, wv, Redacted)
	}
	if !diffs[0].time.Equal(at.Add(time.Minute)) {
		t.Errorf("time = %v, want kubectl-edit's %v", diffs[0].time, at.Add(time.Minute))
	}
}

func TestTrackingOf(t *testing.T) {
	tests := []struct {
		name    string
		ns, id  string
		wantApp string
		wantOK  bool
	}{
		{"own id", "prod", "payment-service:apps/Deployment:prod/web", "payment-service", true},
		{"copy under another namespace", "staging", "payment-service:apps/Deployment:prod/web", "", false},
		{"no app", "prod", ":apps/Deployment:prod/web", "", false},
		{"no id", "prod", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{}
			u.SetAPIVersion("apps/v1")
			u.SetKind("Deployment")
			u.SetNamespace(tt.ns)
			u.SetName("web")
			if tt.id != "" {
				u.SetAnnotations(map[string]string{"ferry.dev/tracking-id": tt.id})
			}
			app, key, ok := trackingOf(u)
			if app != tt.wantApp || ok != tt.wantOK {
				t.Fatalf("trackingOf = %q, %v; want %q, %v", app, ok, tt.wantApp, tt.wantOK)
			}
			if ok && key != (manifest.Key{Group: "apps", Kind: "Deployment", Namespace: tt.ns, Name: "web"}) {
				t.Errorf("key = %+v", key)
			}
		})
	}
}

// compareFields is compare as the watcher reports it: the drifted fields and
// the managers that drifted them, each sorted.
func compareFields(live *unstructured.Unstructured, want manifest.Object) (fields, managers []string) {
	diffs := compare(live, want.Object, DefaultOptions().FieldManager)
	if len(diffs) == 0 {
		return nil, nil
	}
	ev := modified("app", want.Key, diffs, isSecret(live))
	return ev.Fields, ev.Managers
}

// TestCompareSealedSecret: the desired state as the store keeps it (values
// as digests) finds the same drift as the values themselves, and the sealed
// object holds no value.
func TestCompareSealedSecret(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	raw := fromJSON(t, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"hunter2"},"data":{"user":"YWRtaW4="}}`)
	want := Seal(manifest.Object{Key: manifest.KeyOf(raw), Object: raw})
	if b, _ := json.Marshal(want.Object); strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "YWRtaW4=") ||
		strings.Contains(string(b), "aHVudGVyMg==") {
		t.Fatalf("sealed Secret keeps a value: %s", b)
	}
	for _, tt := range []struct {
		name, password string
		want           []string
	}{
		{"unchanged", "aHVudGVyMg==", nil},
		{"edited", "c3dvcmRmaXNo", []string{"data.password"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			live := &unstructured.Unstructured{Object: fromJSON(t, `{"apiVersion":"v1","kind":"Secret",
 "metadata":{"name":"db","namespace":"ns"},"type":"Opaque","data":{"user":"YWRtaW4=","password":"`+tt.password+`"}}`)}
			live.SetManagedFields([]metav1.ManagedFieldsEntry{
				mf("ferry", metav1.ManagedFieldsOperationApply, at, `{"f:data":{"f:user":{},"f:password":{}}}`),
				mf("kubectl-edit", metav1.ManagedFieldsOperationUpdate, at.Add(time.Minute), `{"f:data":{"f:password":{}}}`),
			})
			var fields []string
			for _, d := range compare(live, want.Object, "ferry") {
				fields = append(fields, d.field)
			}
			if !slices.Equal(fields, tt.want) {
				t.Errorf("drifted fields = %q, want %q", fields, tt.want)
			}
			if live.Object["data"].(map[string]any)["user"] != "YWRtaW4=" {
				t.Error("compare changed the live object")
			}
		})
	}
	cm := manifest.Object{Key: manifest.Key{Kind: "ConfigMap", Name: "c"}, Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": "v"}}}
	if got := Seal(cm); got.Object["data"].(map[string]any)["k"] != "v" {
		t.Errorf("Seal changed a ConfigMap: %v", got.Object)
	}
}
