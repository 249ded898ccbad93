#!/bin/sh
# FAKE tokens for ferry's secret-scanner tests: right shape, random body,
# wrong checksum, so GitHub never accepted them.
export GITHUB_TOKEN=ghp_FerryFakeuKcLq2cyhMGAuGkbM6BOvKGTS6d
export GH_RELEASE_TOKEN=github_pat_11FERRYFAKE6EO43CYI248_ferryFakekqUzl4kZeE0008XWj9a2gC6kUWDDK1vpLWHAM03hY9QND6bpuc
gh release create "$1"
