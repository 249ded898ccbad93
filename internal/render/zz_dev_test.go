package render

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
	"github.com/ferry-gitops/ferry/internal/repofs"
	sigsyaml "sigs.k8s.io/yaml"
)

var devTrees = map[string]struct {
	tree map[string]string
	path string
}{}

func devCompare(t *testing.T, name string, tree map[string]string, p string) {
	bin := os.Getenv("KUSTOMIZE_BIN")
	if bin == "" {
		t.Skip()
	}
	dir := t.TempDir()
	writeFiles(t, dir, tree)
	out, err := exec.Command(bin, "build", "--load-restrictor", "LoadRestrictionsNone", filepath.Join(dir, p)).CombinedOutput()
	tr, _ := repofs.OpenDir(dir)
	res, rerr := Render(t.Context(), tr, environment.Environment{Name: "e", Path: p, Type: environment.Kustomize}, Options{})
	if err != nil || rerr != nil {
		t.Logf("%s: kustomize err=%v out=%s\nferry err=%v", name, err, out, rerr)
		if (err == nil) != (rerr == nil) {
			t.Errorf("%s: error mismatch", name)
		}
		return
	}
	want, perr := manifest.Parse(out, "")
	if perr != nil {
		t.Fatal(perr)
	}
	manifest.Sort(want)
	if len(want) != len(res.Objects) {
		t.Errorf("%s: %d vs %d objects", name, len(want), len(res.Objects))
		return
	}
	t.Logf("%s: compared %d objects", name, len(want))
	for i := range want {
		if !reflect.DeepEqual(want[i].Object, res.Objects[i].Object) {
			t.Errorf("%s: object %d differs:\nkustomize %v\nferry     %v", name, i, want[i].Object, res.Objects[i].Object)
		}
	}
}

func devCompareArgo(t *testing.T, tree map[string]string, p string, ks environment.KustomizeSource) {
	bin := os.Getenv("KUSTOMIZE_BIN")
	if bin == "" {
		t.Skip()
	}
	dir := t.TempDir()
	writeFiles(t, dir, tree)
	run := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Dir = filepath.Join(dir, p)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("kustomize %v: %v %s", args, err, out)
		}
		return err
	}
	var err error
	if ks.NamePrefix != "" && err == nil {
		err = run("edit", "set", "nameprefix", "--", ks.NamePrefix)
	}
	if ks.NameSuffix != "" && err == nil {
		err = run("edit", "set", "namesuffix", "--", ks.NameSuffix)
	}
	if len(ks.Images) > 0 && err == nil {
		err = run(append([]string{"edit", "set", "image"}, ks.Images...)...)
	}
	if len(ks.Replicas) > 0 && err == nil {
		args := []string{"edit", "set", "replicas"}
		for _, r := range ks.Replicas {
			args = append(args, r.Name+"="+fmt.Sprint(r.Count))
		}
		err = run(args...)
	}
	if len(ks.CommonLabels) > 0 && err == nil {
		args := []string{"edit", "add", "label"}
		for k, v := range ks.CommonLabels {
			args = append(args, k+":"+v)
		}
		err = run(args...)
	}
	if ks.Namespace != "" && err == nil {
		err = run("edit", "set", "namespace", "--", ks.Namespace)
	}
	tr, _ := repofs.OpenDir(dir)
	tr2 := dirTree(t, tree)
	res, rerr := Render(t.Context(), tr2, environment.Environment{Name: "e", Path: p, Type: environment.Kustomize, Kustomize: &ks}, Options{})
	if err != nil || rerr != nil {
		t.Logf("edit err=%v ferry err=%v", err, rerr)
		if (err == nil) != (rerr == nil) {
			t.Errorf("error mismatch")
		}
		return
	}
	want, werr := Render(t.Context(), tr, environment.Environment{Name: "e", Path: p, Type: environment.Kustomize}, Options{})
	if werr != nil {
		t.Fatal(werr)
	}
	t.Logf("argo compare %d objects", len(want.Objects))
	for i := range want.Objects {
		if !reflect.DeepEqual(want.Objects[i].Object, res.Objects[i].Object) {
			t.Errorf("object %d differs:\nedit  %v\nferry %v", i, want.Objects[i].Object, res.Objects[i].Object)
		}
	}
}

func devCompareHelm(t *testing.T, root string, env environment.Environment, kube string) {
	bin := os.Getenv("HELM_BIN")
	if bin == "" {
		return
	}
	helmRoot := root
	if env.Name == "top" {
		helmRoot = t.TempDir()
		exec.Command("cp", "-r", root+"/.", helmRoot).Run()
		exec.Command("cp", "-r", helmRoot+"/libs/common", helmRoot+"/services/top/charts/common").Run()
	}
	args := []string{"template", filepath.Join(helmRoot, env.Path), "--name-template", env.Name, "--include-crds"}
	ns := env.Destination.Namespace
	if ns != "" {
		args = append(args, "--namespace", ns)
	}
	if kube == "" {
		kube = DefaultKubeVersion
	}
	args = append(args, "--kube-version", kube)
	if h := env.Helm; h != nil {
		for _, vf := range h.ValueFiles {
			if filepath.IsAbs(vf) {
				args = append(args, "--values", filepath.Join(root, vf))
			} else {
				args = append(args, "--values", filepath.Join(root, env.Path, vf))
			}
		}
		inline := h.Values
		if h.ValuesObject != nil {
			js, _ := json.Marshal(h.ValuesObject)
			y, _ := sigsyaml.JSONToYAML(js)
			inline = string(y)
		}
		if inline != "" {
			f := filepath.Join(t.TempDir(), "v.yaml")
			os.WriteFile(f, []byte(inline), 0o644)
			args = append(args, "--values", f)
		}
		for _, p := range h.Parameters {
			if !p.ForceString {
				args = append(args, "--set", p.Name+"="+escapeSetValue(p.Value))
			}
		}
		for _, p := range h.Parameters {
			if p.ForceString {
				args = append(args, "--set-string", p.Name+"="+escapeSetValue(p.Value))
			}
		}
	}
	out, err := exec.Command(bin, args...).Output()
	tr, _ := repofs.OpenDir(root)
	res, rerr := Render(t.Context(), tr, env, Options{KubeVersion: kube})
	if err != nil || rerr != nil {
		t.Logf("helm err=%v out=%s\nferry err=%v", err, out, rerr)
		if (err == nil) != (rerr == nil) {
			t.Errorf("error mismatch")
		}
		return
	}
	want, perr := manifest.Parse(out, "")
	if perr != nil {
		t.Fatal(perr)
	}
	manifest.Sort(want)
	t.Logf("helm compare %d objects", len(want))
	if len(want) != len(res.Objects) {
		t.Errorf("%d vs %d objects", len(want), len(res.Objects))
		return
	}
	for i := range want {
		if !reflect.DeepEqual(want[i].Object, res.Objects[i].Object) {
			t.Errorf("object %d differs:\nhelm  %v\nferry %v", i, want[i].Object, res.Objects[i].Object)
		}
	}
}
