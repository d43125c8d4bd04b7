package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/anigo/anigo/views"
)

// staticFiles are the embedded static files, served at URLs that carry a
// hash of their content (/static/css/site.<hash8>.css), so that browsers
// may keep them for a year and still see every change at once.
type staticFiles struct {
	files  map[string]staticFile // by hashed URL
	assets views.Assets
}

type staticFile struct {
	body        []byte
	contentType string
}

// newStaticFiles reads and hashes every file under static/ in fsys.
func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	s := &staticFiles{files: map[string]staticFile{}}
	urls := map[string]string{} // by path under static/
	err := fs.WalkDir(fsys, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		url := "/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		s.files[url] = staticFile{body: body, contentType: ctype}
		urls[strings.TrimPrefix(name, "static/")] = url
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	s.assets = views.Assets{
		CSS:  urls["css/site.css"],
		JS:   urls["js/site.js"],
		HTMX: urls["js/htmx.min.js"],
		Icon: urls["img/icon.svg"],
	}
	return s, nil
}

const immutable = "public, max-age=31536000, immutable"

// staticShow serves an embedded file by its hashed URL.
func (h *handler) staticShow(c *fiber.Ctx) error {
	f, ok := h.static.files[c.Path()]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	c.Set(fiber.HeaderCacheControl, immutable)
	return c.Send(f.body)
}
