#!/usr/bin/env bash
# testrepo.sh OUTDIR: build the GitOps test repository from testdata/gitops.
#
# OUTDIR becomes a git repository (work tree with main checked out):
#   main               testdata/gitops/base
#   scenario/<name>    main plus testdata/gitops/scenarios/<name>: its files
#                      overwrite or add to base, and the paths listed in its
#                      optional .delete file are removed
# Authors, dates and configuration are pinned, so the same testdata always
# gives the same commit ids.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../testdata/gitops" && pwd)

if [[ -e $out && -n $(ls -A "$out" 2>/dev/null) ]]; then
	echo "testrepo: $out exists and is not empty" >&2
	exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Nothing from the caller's git setup may change the commits.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ferry Test" GIT_AUTHOR_EMAIL="test@ferry.invalid"
export GIT_COMMITTER_NAME="Ferry Test" GIT_COMMITTER_EMAIL="test@ferry.invalid"
export TZ=UTC LC_ALL=C
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES

g() { git -C "$out" -c core.autocrlf=false -c core.fileMode=true -c commit.gpgSign=false "$@"; }

commit() { # commit DATE MESSAGE
	GIT_AUTHOR_DATE=$1 GIT_COMMITTER_DATE=$1 g commit -q --allow-empty -m "$2"
}

# copy SRC: copy a tree's files (not its .delete) into the work tree. Modes
# are normalised so the umask and checkout of testdata do not leak into the
# commits.
copy() {
	cp -R "$1/." "$out/"
	rm -f "$out/.delete"
	find "$out" -path "$out/.git" -prune -o -type f -exec chmod 0644 {} +
}

g init -q
g symbolic-ref HEAD refs/heads/main
copy "$src/base"
g add -A
# 2026-01-05T09:00:00Z; each scenario commits a minute after the previous one.
when=1767603600
commit "$when +0000" "Base: payment-service in staging and production, and its Helm chart"
for dir in "$src"/scenarios/*/; do
	name=$(basename "$dir")
	g checkout -q -b "scenario/$name" main
	copy "$dir"
	if [[ -f $dir/.delete ]]; then
		while IFS= read -r p || [[ -n $p ]]; do
			[[ -z $p || $p == \#* ]] && continue
			g rm -q -r -- "$p"
		done <"$dir/.delete"
	fi
	g add -A
	when=$((when + 60))
	commit "$when +0000" "Scenario: $name"
	g checkout -q main
done
