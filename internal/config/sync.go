package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/ferry-gitops/ferry/internal/manifest"
)

// SyncConfig tunes syncs on merge:
//
//	sync:
//	  maxPrunePercent: 50   # refuse a sync that would delete more of an app's objects (0 turns the guard off)
//	  healthTimeout: 5m     # how long a rollout may take to become healthy
//	  degradationWindow: 10m # a rollout that turns unhealthy this long after a sync opens a revert PR (0s: off)
//
// It is read from the target branch, which only merged (reviewed) changes reach.
type SyncConfig struct {
	MaxPrunePercent *float64 `json:"maxPrunePercent,omitempty"`
	HealthTimeout   string   `json:"healthTimeout,omitempty"`
	// DegradationWindow is how long after a sync a degraded rollout still
	// counts as the sync's fault.
	DegradationWindow string `json:"degradationWindow,omitempty"`
}

// Window is the degradation window, or def when unset.
func (s SyncConfig) Window(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s.DegradationWindow); err == nil && d >= 0 {
		return d
	}
	return def
}

// MaxPruneFraction is the prune guard as a fraction, or def when unset.
func (s SyncConfig) MaxPruneFraction(def float64) float64 {
	if s.MaxPrunePercent == nil {
		return def
	}
	return *s.MaxPrunePercent / 100
}

// Timeout is the health timeout, or def when unset.
func (s SyncConfig) Timeout(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s.HealthTimeout); err == nil && d > 0 {
		return d
	}
	return def
}

func (s *SyncConfig) validate() error {
	if p := s.MaxPrunePercent; p != nil && (*p < 0 || *p > 100) {
		return &manifest.ParseError{File: FileName, Err: fmt.Errorf("sync.maxPrunePercent: %v is not between 0 and 100", *p)}
	}
	if s.DegradationWindow != "" {
		if d, err := time.ParseDuration(s.DegradationWindow); err != nil || d < 0 {
			return &manifest.ParseError{File: FileName, Err: errors.New("sync.degradationWindow: want a duration such as 10m")}
		}
	}
	if s.HealthTimeout != "" {
		if d, err := time.ParseDuration(s.HealthTimeout); err != nil || d <= 0 {
			return &manifest.ParseError{File: FileName, Err: errors.New("sync.healthTimeout: want a positive duration such as 5m")}
		}
	}
	return nil
}
