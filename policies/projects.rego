# ferry's default project policy: an environment deploys only what its Argo
# CD project (AppProject) permits. ferry works out, for each environment as
# the pull request would leave it, what its project refuses (the
# destination, the source repository, or an object of its render) and
# passes it as input.environments[].project_violations; each is a deny
# naming the environment, the reason and where to fix it, e.g.
#
#   production: ClusterRoleBinding is not permitted in project default (rbac/crb.yaml:1)
#
# deny is a union, so a repository's policies cannot remove these.
package ferry.defaults

deny contains project_violation_message(env, v) if {
	some env in input.environments
	some v in env.project_violations
}

project_violation_message(env, v) := sprintf("%s: %s (%s)", [env.name, project_violation_reason(env, v), where]) if {
	where := project_violation_place(v)
	where != ""
} else := sprintf("%s: %s", [env.name, project_violation_reason(env, v)])

project_violation_reason(env, v) := v.reason if v.reason != ""

else := sprintf("not permitted in project %s", [env.project])

project_violation_place(v) := sprintf("%s:%d", [v.file, v.line]) if {
	v.file != ""
	v.line > 0
} else := v.file if v.file != ""

else := v.resource
