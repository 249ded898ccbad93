package render

import (
	"fmt"

	"github.com/ferry-gitops/ferry/internal/environment"
	"github.com/ferry-gitops/ferry/internal/manifest"
)

// sources renders each rendered source of a multi-source Application in
// turn, under one set of limits, and concatenates their objects, as Argo
// CD does. An object two sources render is an error naming both.
func (j *job) sources() ([]manifest.Object, error) {
	var out []manifest.Object
	seen := map[manifest.Key]int{}
	views := j.env.Views()
	for i, v := range views {
		sub := *j
		sub.env = v
		objs, err := sub.run()
		j.output = sub.output
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if prev, ok := seen[o.Key]; ok && prev != i {
				return nil, &Error{File: j.env.File, Err: fmt.Errorf("%s is rendered by two sources: %s and %s", o.Key, describeView(views[prev]), describeView(v))}
			}
			seen[o.Key] = i
		}
		out = append(out, objs...)
	}
	return out, nil
}

// describeView names one source of an environment for messages.
func describeView(v environment.Environment) string {
	if v.Chart != nil {
		return fmt.Sprintf("chart %s %s from %s", v.Chart.Name, v.Chart.Version, v.Chart.RepoURL)
	}
	return fmt.Sprintf("%s source %s", v.Type, v.Path)
}
