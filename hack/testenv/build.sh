#!/usr/bin/env bash
# Builds the test cluster's binaries (kube-apiserver, etcd, kubectl) from the
# Go module proxy into OUTDIR, the directory internal/clustertest hands to
# envtest as its BinaryAssetsDirectory.
#
#   bash hack/testenv/build.sh [OUTDIR]     # default OUTDIR: ${XDG_CACHE_HOME:-~/.cache}/ferry/testenv-v1.37.2
#
# The versions come from hack/testenv/go.mod. A build is skipped when OUTDIR
# already holds every binary and its stamp file names the same versions; an
# interrupted build resumes from Go's build cache.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/testenv-v1.37.2}
mkdir -p "$out"
out=$(cd "$out" && pwd)

export GOWORK=off CGO_ENABLED=0
# The committed go.sum is complete: a missing entry is an error, not a fetch.
export GOFLAGS="-mod=readonly -buildvcs=false"
go=${GO:-go}

cd "$here"
kube_version=$($go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$($go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
go_version=$($go env GOVERSION)
mods_sum=$(cat go.mod go.sum | sha256sum | cut -c1-16)
stamp="kubernetes=$kube_version etcd=$etcd_version $go_version mods=$mods_sum"

# One build at a time per OUTDIR (test packages may call this in parallel).
if command -v flock >/dev/null; then
	exec 9>"$out/.lock"
	flock 9
fi
# Leftovers of a build that was killed outright.
rm -rf "$out"/.build.*

binaries=(kube-apiserver etcd kubectl)
if [[ -f $out/STAMP && $(cat "$out/STAMP") == "$stamp" ]]; then
	complete=1
	for b in "${binaries[@]}"; do [[ -x $out/$b ]] || complete=0; done
	if ((complete)); then
		echo "testenv: $out is up to date ($stamp)"
		exit 0
	fi
fi

# v1.37.2 -> major 1, minor 37: what `kubectl version` and /version report.
ver=${kube_version#v}
major=${ver%%.*}
minor=${ver#*.}
minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

echo "testenv: building kube-apiserver, etcd, kubectl into $out ($stamp)"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
# One go build for all three programs: they share most packages, and go build
# compiles them in parallel.
$go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kubectl \
	go.etcd.io/etcd/server/v3
# Go names a .../v3 program after the path element before the version.
mv "$tmp/server" "$tmp/etcd"
rm -f "$out/STAMP"
for b in "${binaries[@]}"; do mv -f "$tmp/$b" "$out/$b"; done
echo "$stamp" >"$out/STAMP"
echo "testenv: built in $(($(date +%s) - start))s"
"$out/kube-apiserver" --version
"$out/kubectl" version --client
"$out/etcd" --version | sed -n 1p # sed reads it all: head could end it with SIGPIPE under pipefail
