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
//
// It is read from the target branch, which only merged (reviewed) changes reach.
type SyncConfig struct {
	MaxPrunePercent *float64 `json:"maxPrunePercent,omitempty"`
	HealthTimeout   string   `json:"healthTimeout,omitempty"`
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
	if s.HealthTimeout != "" {
		if d, err := time.ParseDuration(s.HealthTimeout); err != nil || d <= 0 {
			return &manifest.ParseError{File: FileName, Err: errors.New("sync.healthTimeout: want a positive duration such as 5m")}
		}
	}
	return nil
}
