#!/usr/bin/env bash
# Secret scanning throughput: ferry's scanner (gitleaks' rules as a library
# plus ferry's structural rules) next to the gitleaks CLI at the version in
# go.mod, on testdata/secrets replicated to about 10 MB (BENCH_SIZE_MB).
#
# The CLI is built from the Go module proxy into ~/.cache/ferry/tools. A plain
# `go install` uses Go's regexp package, as a plain `go build` of ferry
# does; gitleaks' release binaries are built with -tags gore2regex (RE2
# compiled to WebAssembly), so that variant of both is timed too.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(go list -m -f '{{.Version}}' github.com/zricethezav/gitleaks/v8)
tools=${FERRY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/tools}
ldflags="-X=github.com/zricethezav/gitleaks/v8/version.Version=$version"
if ! "$tools/gitleaks" version 2>/dev/null | grep -qx "$version"; then
  GOBIN=$tools go install -ldflags "$ldflags" "github.com/zricethezav/gitleaks/v8@$version"
fi
if ! "$tools/re2/gitleaks" version 2>/dev/null | grep -qx "$version"; then
  GOBIN=$tools/re2 go install -tags gore2regex -ldflags "$ldflags" "github.com/zricethezav/gitleaks/v8@$version"
fi
size=${BENCH_SIZE_MB:-10}
runs=${BENCH_RUNS:-3}
go run ./hack/benchsecrets -gitleaks "$tools/gitleaks,$tools/re2/gitleaks" -size "$size" -runs "$runs"
echo
go run -tags gore2regex ./hack/benchsecrets -gitleaks "" -size "$size" -runs "$runs" | tail -n +3
