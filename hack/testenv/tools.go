//go:build tools

// Package testenv pins the programs that build.sh builds for ferry's test
// cluster, so that go.mod and go.sum keep their dependencies.
package testenv

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
