# ferry's default approval requirements.
#
# An environment needs the approvals of the first rule in .ferry.yaml's
# policy.approvals whose `match` (an RE2 regex, unanchored) matches its name
# or its namespace. Without that setting the rule below applies: anything
# that looks like production needs two approvals, judged by the
# environment's name and namespace and also by its destination cluster's
# name and server URL (so a new Application named "tools" aimed at the
# production cluster needs two approvals too). Rules from .ferry.yaml never
# look at the cluster. An environment no rule matches needs none.
#
# Which approvals count (APPROVED on the current head, by someone else than
# the author, with write access, in one of `teams` when set) is decided by
# ferry itself: see README.md.
package ferry.defaults

default_approval_rules := [{"match": "prod", "count": 2, "teams": [], "match_cluster": true}]

# An explicit empty list in .ferry.yaml requires nothing anywhere; a
# missing or null one keeps the default.
approval_rules := input.config.approvals if is_array(input.config.approvals)

else := default_approval_rules

rule_matches(rule, env) if regex.match(rule.match, env.name)

rule_matches(rule, env) if regex.match(rule.match, env.namespace)

# Only the default rule sets match_cluster; .ferry.yaml's rules cannot.
rule_matches(rule, env) if {
	rule.match_cluster == true
	some where in [env.cluster_name, env.server]
	regex.match(rule.match, where)
}

approvals contains {"environment": env.name, "count": chosen.count, "teams": object.get(chosen, "teams", [])} if {
	some env in input.environments
	matching := [rule | some rule in approval_rules; rule_matches(rule, env)]
	count(matching) > 0
	chosen := matching[0]
	chosen.count > 0
}
