#!/usr/bin/env bash
# Regenerates testdata/github/ from GitHub's published descriptions, as shipped
# on npm by the Octokit project. The output is committed so tests never need
# npm or the network; rerun this only to move to newer versions.
#
#   hack/github-testdata.sh            # uses the pinned versions below
#   OPENAPI_VERSION=x.y.z hack/github-testdata.sh
set -euo pipefail

OPENAPI_VERSION="${OPENAPI_VERSION:-23.0.2}"
WEBHOOKS_VERSION="${WEBHOOKS_VERSION:-7.6.1}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/testdata/github"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(
	cd "$work"
	npm pack --silent "@octokit/openapi@${OPENAPI_VERSION}" "@octokit/webhooks-examples@${WEBHOOKS_VERSION}" >/dev/null
	mkdir openapi webhooks
	tar -xzf "octokit-openapi-${OPENAPI_VERSION}.tgz" -C openapi
	tar -xzf "octokit-webhooks-examples-${WEBHOOKS_VERSION}.tgz" -C webhooks
)

rm -rf "$out/webhooks"
mkdir -p "$out/webhooks"

OPENAPI="$work/openapi/package/generated/api.github.com.json" \
WEBHOOKS="$work/webhooks/package/api.github.com/index.json" \
OUT="$out" OPENAPI_VERSION="$OPENAPI_VERSION" WEBHOOKS_VERSION="$WEBHOOKS_VERSION" \
node - <<'JS'
const fs = require("fs");
const path = require("path");
const env = process.env;

// ---- REST operations -------------------------------------------------------
const spec = JSON.parse(fs.readFileSync(env.OPENAPI, "utf8"));

function resolve(node) {
	// Follow local "$ref"s ("#/components/...") until a concrete node.
	let seen = 0;
	while (node && node.$ref) {
		if (++seen > 50) throw new Error("ref loop at " + node.$ref);
		node = node.$ref.slice(2).split("/").reduce((n, k) => n[k], spec);
	}
	return node;
}

// Required top-level properties: the schema's own, plus those every
// oneOf/anyOf alternative agrees on (checks/create and friends use those).
function requiredOf(schema) {
	schema = resolve(schema) || {};
	const req = new Set(schema.required || []);
	for (const part of schema.allOf || []) for (const r of requiredOf(part)) req.add(r);
	const alts = schema.oneOf || schema.anyOf;
	if (alts && alts.length) {
		const sets = alts.map((a) => new Set(requiredOf(a)));
		for (const r of sets[0]) if (sets.every((s) => s.has(r))) req.add(r);
	}
	return [...req].sort();
}

function propertiesOf(schema) {
	schema = resolve(schema) || {};
	const props = Object.assign({}, ...(schema.allOf || []).map(propertiesOf));
	for (const [k, v] of Object.entries(schema.properties || {})) props[k] = resolve(v);
	return props;
}

const methods = ["get", "put", "post", "patch", "delete", "head", "options"];
const ops = [];
for (const [p, item] of Object.entries(spec.paths)) {
	for (const m of methods) {
		const op = item[m];
		if (!op) continue;
		const o = { method: m.toUpperCase(), path: p, operationId: op.operationId };
		const rb = resolve(op.requestBody);
		const media = rb && rb.content && rb.content["application/json"];
		if (media && media.schema) {
			const schema = resolve(media.schema);
			if (rb.required) o.bodyRequired = true;
			const req = requiredOf(schema);
			if (req.length) o.requiredBody = req;
			// Top-level scalar enums and JSON types let the fake reject
			// values GitHub would reject, without shipping whole schemas.
			const enums = {}, types = {};
			for (const [k, v] of Object.entries(propertiesOf(schema))) {
				if (!v) continue;
				if (Array.isArray(v.enum) && v.enum.every((e) => typeof e === "string")) enums[k] = v.enum;
				if (typeof v.type === "string") types[k] = v.type;
			}
			if (Object.keys(enums).length) o.bodyEnums = enums;
			if (Object.keys(types).length) o.bodyTypes = types;
		}
		ops.push(o);
	}
}
ops.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.method < b.method ? -1 : a.method > b.method ? 1 : 0));
fs.writeFileSync(
	path.join(env.OUT, "rest-operations.json"),
	"[\n" + ops.map((o) => JSON.stringify(o)).join(",\n") + "\n]\n",
);

// ---- Webhook payloads ------------------------------------------------------
const events = JSON.parse(fs.readFileSync(env.WEBHOOKS, "utf8"));
function examples(name) {
	const e = events.find((e) => e.name === name);
	if (!e) throw new Error("no webhook examples for " + name);
	return e.examples;
}
// Prefer an example delivered to a GitHub App (it carries "installation"),
// since that is how ferry receives events.
function pick(name, pred) {
	const xs = examples(name).filter(pred);
	const x = xs.find((x) => x.installation) || xs[0];
	if (!x) throw new Error("no matching example for " + name);
	return x;
}
const action = (a) => (x) => x.action === a;
const clone = (x) => JSON.parse(JSON.stringify(x));

const files = {};
const derived = {};
for (const a of ["opened", "synchronize", "reopened", "closed", "ready_for_review"]) {
	files[`pull_request.${a}`] = pick("pull_request", action(a));
}
files["pull_request_review.submitted"] = pick("pull_request_review", action("submitted"));
files["pull_request_review.dismissed"] = pick("pull_request_review", action("dismissed"));
files["issue_comment.created"] = pick("issue_comment", action("created"));
files["push"] = pick("push", (x) => x.commits && x.commits.length > 0);
files["check_run.rerequested"] = pick("check_run", action("rerequested"));
files["installation.created"] = pick("installation", action("created"));
files["merge_group.checks_requested"] = pick("merge_group", action("checks_requested"));

// The example package has no payload for these; each is derived from the
// nearest real example with the fields GitHub documents for that action.
// Regenerating checks whether a newer package ships real ones and uses them.
function realOr(name, pred, derive, why) {
	const real = examples(name.split(".")[0]).filter(pred);
	if (real.length) return (files[name] = real.find((x) => x.installation) || real[0]);
	files[name] = derive();
	derived[name] = why;
}
realOr("pull_request.edited", action("edited"), () => {
	const x = clone(files["pull_request.opened"]);
	x.action = "edited";
	x.changes = { title: { from: "Update README" } };
	return x;
}, 'pull_request.opened with action "edited" and a `changes.title.from`');
realOr("pull_request.closed.merged", (x) => x.action === "closed" && x.pull_request.merged, () => {
	const x = clone(files["pull_request.closed"]);
	const pr = x.pull_request;
	pr.merged = true;
	pr.merged_at = pr.closed_at;
	pr.merged_by = clone(x.sender);
	pr.mergeable = null;
	pr.rebaseable = null;
	pr.mergeable_state = "unknown";
	return x;
}, "pull_request.closed with merged=true, merged_at=closed_at, merged_by=sender");
realOr("issue_comment.created.pull_request", (x) => x.action === "created" && x.issue.pull_request, () => {
	const x = clone(files["issue_comment.created"]);
	const api = x.issue.url.replace(/\/issues\/(\d+)$/, "/pulls/$1");
	const html = x.issue.html_url.replace(/\/issues\/(\d+)$/, "/pull/$1");
	x.issue.pull_request = { url: api, html_url: html, diff_url: html + ".diff", patch_url: html + ".patch", merged_at: null };
	return x;
}, "issue_comment.created with the issue's `pull_request` links added (a comment on a PR)");

realOr("merge_group.destroyed", action("destroyed"), () => {
	const x = clone(files["merge_group.checks_requested"]);
	x.action = "destroyed";
	x.reason = "dequeued";
	return x;
}, 'merge_group.checks_requested with action "destroyed" and reason "dequeued"');

// A few old examples carry "2018-04-25 20:42:10" timestamps, which the
// webhook schemas (format: date-time) and go-github reject; GitHub sends
// ISO 8601 today. Rewrite only those values, and say so in the README.
const normalized = {};
function normalizeTimes(node, file, where) {
	for (const [k, v] of Object.entries(node)) {
		if (typeof v === "string" && /_at$/.test(k) && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(v)) {
			node[k] = v.replace(" ", "T") + "Z";
			(normalized[file] = normalized[file] || []).push(where + k);
		} else if (v && typeof v === "object") {
			normalizeTimes(v, file, where + k + ".");
		}
	}
}
for (const [name, payload] of Object.entries(files)) {
	files[name] = clone(payload);
	normalizeTimes(files[name], name, "");
}

for (const [name, payload] of Object.entries(files)) {
	fs.writeFileSync(path.join(env.OUT, "webhooks", name + ".json"), JSON.stringify(payload, null, 2) + "\n");
}

// ---- README ----------------------------------------------------------------
const lines = [
	"# GitHub test data",
	"",
	"Generated by `hack/github-testdata.sh`; do not edit by hand.",
	"",
	`- \`rest-operations.json\`: every operation of GitHub's REST description`,
	`  (\`api.github.com.json\` from npm \`@octokit/openapi@${env.OPENAPI_VERSION}\`,`,
	`  description version ${spec.info.version}, ${ops.length} operations): method, path`,
	"  template, operationId and, for JSON request bodies, the top-level required",
	"  properties, string enums and JSON types. `internal/githubtest` checks every",
	"  call ferry makes against it.",
	`- \`webhooks/\`: example deliveries from npm \`@octokit/webhooks-examples@${env.WEBHOOKS_VERSION}\``,
	"  (`api.github.com/index.json`), copied verbatim except as noted below, preferring examples",
	"  delivered to a GitHub App (with `installation`). One file per",
	"  `<event>.<action>.json`.",
	"",
];
if (Object.keys(derived).length) {
	lines.push("The example package has no payload for the following; they are derived", "from a real example by the script (see it for the exact edits):", "");
	for (const [n, why] of Object.entries(derived)) lines.push(`- \`webhooks/${n}.json\`: ${why}.`);
	lines.push("");
}
if (Object.keys(normalized).length) {
	lines.push("Timestamps in the old `YYYY-MM-DD hh:mm:ss` form were rewritten to ISO 8601,", "as GitHub sends them today and go-github requires:", "");
	for (const [n, keys] of Object.entries(normalized)) lines.push(`- \`webhooks/${n}.json\`: ${keys.map((k) => "`" + k + "`").join(", ")}.`);
	lines.push("");
}
fs.writeFileSync(path.join(env.OUT, "README.md"), lines.join("\n"));
console.log(`wrote ${ops.length} operations and ${Object.keys(files).length} webhook payloads to ${env.OUT}`);
JS
