#!/usr/bin/env bash
# make bench: Go benchmarks, then ferry diff side by side with the shell
# pipeline. Results go to .cache/bench/; copy the tables into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/bench
go test -run '^$' -bench . -benchmem -count 1 ./internal/... | tee .cache/bench/go.txt
go run ./hack/benchcompare -ferry bin/ferry -tools "$FERRY_TOOLS_DIR" -runs 5 | tee .cache/bench/compare.md
bash hack/bench-secrets.sh | tee .cache/bench/secrets.md
