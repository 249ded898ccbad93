# ferry's build. Everything it needs is built from the Go module proxy (the
# reference CLIs for the fidelity test, the test cluster's kube-apiserver and
# etcd), so `make test` works on a fresh clone. Built tools live in a cache
# outside the clone, keyed by version, so every clone on a machine shares them.
SHELL := /bin/bash
GO ?= go
CACHE := $(CURDIR)/.cache
TOOLS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ferry
TOOLS := $(TOOLS_CACHE)/tools
export FERRY_TESTENV_DIR ?= $(TOOLS_CACHE)/testenv-v1.37.2
DEMO_REPO := $(CACHE)/demo-repo
DEMO_URL := https://github.com/skillzmist/infrastructure
KUSTOMIZE_VERSION := v5.8.2
HELM_VERSION := $(shell $(GO) list -m -f '{{.Version}}' helm.sh/helm/v3)
JSONNET_VERSION := $(shell $(GO) list -m -f '{{.Version}}' github.com/google/go-jsonnet)
export FERRY_TOOLS_DIR := $(TOOLS)

.PHONY: build demo test vet fmt-check unit tools testenv bench clean

# A static binary (no cgo: SQLite is modernc's pure Go), as the Dockerfile
# builds it.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ferry ./cmd/ferry

# The PR comment ferry would post for a production image bump in the bundled
# example repository (testdata/gitops). ferry diff exits 1 when something changes.
demo: build
	@rm -rf $(DEMO_REPO) && bash hack/testrepo.sh $(DEMO_REPO) >/dev/null
	@./bin/ferry apps --repo $(DEMO_REPO) --rev main --repo-url $(DEMO_URL)
	@echo
	@./bin/ferry diff --repo $(DEMO_REPO) --base main --head scenario/image-bump-production --repo-url $(DEMO_URL) --format markdown; \
	  rc=$$?; [ $$rc -le 1 ] || exit $$rc

test: tools testenv vet fmt-check unit

unit:
	$(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Reference CLIs for the fidelity tests: the kustomize that matches
# kustomize/api v0.21.2, the helm CLI at the SDK's version and the jsonnet
# CLI of the go-jsonnet ferry evaluates directory sources with.
tools: $(TOOLS)/kustomize $(TOOLS)/helm $(TOOLS)/jsonnet

$(TOOLS)/kustomize:
	GOBIN=$(TOOLS) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(TOOLS)/jsonnet:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-jsonnet/cmd/jsonnet@$(JSONNET_VERSION)

# The test cluster: kube-apiserver, etcd and kubectl built from k8s.io/kubernetes
# v1.37.2 (about 8 minutes cold on 2 cores; a no-op once built).
testenv:
	bash hack/testenv/build.sh $(FERRY_TESTENV_DIR)

bench: build tools testenv
	bash hack/bench.sh

clean:
	rm -rf bin $(CACHE)

clean-tools:
	rm -rf $(TOOLS) $(FERRY_TESTENV_DIR)
