// Package webhook is ferry's front door: it verifies GitHub's signature,
// turns the event into jobs, and persists them before answering 202, so
// accepted work survives a crash and a redelivered event is done once.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/labstack/echo/v4"

	"github.com/ferry-gitops/ferry/internal/queue"
)

// MaxBody is GitHub's own cap on a webhook payload (25 MB).
const MaxBody = 25 << 20

// Intake persists a delivery and its jobs atomically.
type Intake interface {
	Accept(ctx context.Context, d queue.Delivery, jobs []queue.Spec) (duplicate bool, err error)
}

// Handler serves POST /webhook.
type Handler struct {
	Secret []byte
	Intake Intake
	// Wake tells the worker pool that work is waiting.
	Wake   func()
	Logger *slog.Logger
	Now    func() time.Time
	// Limits bound the bodies read before their signature can be checked
	// (zero fields take DefaultLimits).
	Limits Limits
	// Observe, when set, is told of every delivery's event and the status
	// ferry answered; the event is "unverified" until the signature holds.
	Observe func(event string, code int)

	bodiesOnce sync.Once
	bodies     *bodyReader
}

// Serve handles one delivery.
func (h *Handler) Serve(c echo.Context) error {
	event := "unverified"
	err := h.serve(c, &event)
	if h.Observe != nil {
		h.Observe(event, c.Response().Status)
	}
	return err
}

// serve is Serve; it sets *observed to the event once the signature holds.
func (h *Handler) serve(c echo.Context, observed *string) error {
	req := c.Request()
	h.bodiesOnce.Do(func() { h.bodies = newBodyReader(h.Limits) })
	rc := http.NewResponseController(c.Response())
	body, release, err := h.bodies.read(req.Body, req.ContentLength, rc.SetReadDeadline)
	defer release()
	if err != nil {
		return h.refuse(c, err)
	}
	// SHA-256 only: the legacy SHA-1 header is not accepted as a fallback.
	sig := req.Header.Get(gh.SHA256SignatureHeader)
	if sig == "" || gh.ValidateSignature(sig, body, h.Secret) != nil {
		h.Logger.Warn("webhook signature rejected", "delivery", gh.DeliveryID(req), "remote", c.RealIP())
		return c.String(http.StatusUnauthorized, "bad signature\n")
	}
	event, delivery := gh.WebHookType(req), gh.DeliveryID(req)
	*observed = event
	if event == "" || delivery == "" {
		return c.String(http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery\n")
	}
	if event == "ping" {
		return c.String(http.StatusOK, "pong\n")
	}
	t, err := translate(event, body)
	if err != nil {
		h.Logger.Warn("webhook not understood", "event", event, "delivery", delivery, "err", err)
		return c.String(http.StatusBadRequest, "cannot parse event\n")
	}
	if len(t.jobs) == 0 {
		return c.String(http.StatusAccepted, "nothing to do\n")
	}
	dup, err := h.Intake.Accept(req.Context(), queue.Delivery{
		ID: delivery, Event: event, Action: t.action, Repo: t.repo,
		InstallationID: t.installation, ReceivedAt: h.Now(),
	}, t.jobs)
	if err != nil {
		h.Logger.Error("webhook not persisted", "event", event, "delivery", delivery, "err", err)
		// 5xx makes GitHub mark the delivery failed so it can be redelivered.
		return c.String(http.StatusServiceUnavailable, "could not record delivery\n")
	}
	if dup {
		h.Logger.Info("duplicate delivery ignored", "event", event, "delivery", delivery)
		return c.String(http.StatusAccepted, "already accepted\n")
	}
	h.Logger.Info("webhook accepted", "event", event, "action", t.action, "delivery", delivery, "repo", t.repo, "jobs", len(t.jobs))
	if h.Wake != nil {
		h.Wake()
	}
	return c.String(http.StatusAccepted, "accepted\n")
}

// refuse answers a body ferry would not read in full. Nothing is stored.
func (h *Handler) refuse(c echo.Context, err error) error {
	switch {
	case errors.Is(err, errNoLength):
		return c.String(http.StatusLengthRequired, "Content-Length required\n")
	case errors.Is(err, errTooLarge):
		return c.String(http.StatusRequestEntityTooLarge, "payload too large\n")
	case errors.Is(err, errOverBudget):
		h.Logger.Warn("webhook refused: bodies in flight over budget", "remote", c.RealIP(), "bytes", c.Request().ContentLength)
		retry := int(math.Ceil(h.bodies.limits.Grace.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(retry))
		return c.String(http.StatusServiceUnavailable, "too many webhook bodies in flight; retry later\n")
	case errors.Is(err, errTooSlow):
		h.Logger.Warn("webhook refused: body arrived too slowly", "remote", c.RealIP())
		c.Response().Header().Set("Connection", "close")
		return c.String(http.StatusRequestTimeout, "body arrived too slowly\n")
	}
	return c.String(http.StatusBadRequest, "cannot read body\n")
}
