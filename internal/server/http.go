package server

import (
	"net/http"
	"time"

	"github.com/ferry-gitops/ferry/internal/webhook"
)

// HTTPLimits bound what a peer can make the HTTP server hold: time to send
// headers, the whole request and the answer, idle keep-alive time, header
// size, and (Webhook) the bodies of deliveries read before their signature
// can be checked. Zero fields take the defaults.
type HTTPLimits struct {
	ReadHeaderTimeout time.Duration // default 10 s
	// ReadTimeout bounds reading a whole request (default 30 s). POST
	// /webhook paces its own body instead (Webhook.Grace and MinRate).
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration // from the end of the headers to the end of the answer; default 90 s
	IdleTimeout    time.Duration // between keep-alive requests; default 60 s
	MaxHeaderBytes int           // default 64 KiB (GitHub sends about 1 KiB)
	Webhook        webhook.Limits
}

// DefaultHTTPLimits are what `ferry serve` and `ferry setup` use. The write
// timeout outlasts the slowest body webhook.DefaultLimits allows (about 55 s).
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		Webhook:           webhook.DefaultLimits(),
	}
}

// httpServer is an http.Server for h with l's limits (defaults filled in).
func (l HTTPLimits) httpServer(h http.Handler) *http.Server {
	d := DefaultHTTPLimits()
	orDefault := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	header := l.MaxHeaderBytes
	if header <= 0 {
		header = d.MaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: orDefault(l.ReadHeaderTimeout, d.ReadHeaderTimeout),
		ReadTimeout:       orDefault(l.ReadTimeout, d.ReadTimeout),
		WriteTimeout:      orDefault(l.WriteTimeout, d.WriteTimeout),
		IdleTimeout:       orDefault(l.IdleTimeout, d.IdleTimeout),
		MaxHeaderBytes:    header,
	}
}
