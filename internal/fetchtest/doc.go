// Package fetchtest serves Helm charts to tests: a chart repository (an
// index.yaml and packaged charts over HTTP) and an in-process OCI registry
// (the distribution project's, in memory), both on loopback, both
// recording every request they get so a test can assert a fetch sent none.
//
// Only tests import it: it pulls the registry's dependencies in.
package fetchtest
