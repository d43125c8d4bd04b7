package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

const readyTimeout = 2 * time.Second

// healthShow is the liveness probe: the process serves requests.
func (h *handler) healthShow(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyShow is the readiness probe: 200 when PostgreSQL answers, 503
// otherwise. The cache's state is reported but never fails readiness,
// since pages render live without it.
func (h *handler) readyShow(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	status, postgres, code := "ok", "up", fiber.StatusOK
	if err := h.store.Ping(ctx); err != nil {
		h.log.WarnContext(ctx, "readyz: postgres does not answer", "err", err)
		status, postgres, code = "unavailable", "down", fiber.StatusServiceUnavailable
	}
	redis := "none"
	if h.cacheState != nil {
		redis = h.cacheState(ctx)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(code).JSON(fiber.Map{"status": status, "postgres": postgres, "redis": redis})
}
