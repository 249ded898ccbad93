# ferry's default secret policy: a pull request that would commit a secret
# is denied, whether the secret is on a line it adds or only shows up in
# what an environment renders. The message names the rule and the place;
# ferry never passes the value to a policy.
package ferry.defaults

deny contains sprintf("secret found: %s in %s:%d", [f.rule, f.file, f.line]) if {
	some f in input.secret_findings
}

deny contains sprintf("secret found: %s in %s (rendered for %s)", [f.rule, rendered_place(f), env.name]) if {
	some env in input.environments
	some f in env.secret_findings
}

rendered_place(f) := sprintf("%s:%d", [f.file, f.line]) if f.resource == ""

else := sprintf("%s:%d (%s)", [f.file, f.line, f.resource]) if f.file != ""

else := sprintf("%s line %d", [f.resource, f.line])
