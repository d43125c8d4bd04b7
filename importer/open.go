// Package importer reads catalog files: the Kaggle anime CSV and
// manami-project's anime-offline-database (minified JSON or JSON Lines),
// each optionally Zstandard-compressed, from a local path or an http(s)
// URL. It streams: memory stays constant whatever the file's size. It
// yields anigo.ImportRecord values; writing them is the store's job.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// Info describes an opened source.
type Info struct {
	Name string // file name (or the URL's last path element), a format hint
	Size int64  // bytes, or -1 when unknown; for progress
}

// Open opens src, a local path or an http(s) URL, for reading. The caller
// closes the reader. Errors name src and the cause: "importer: open X: no
// such file", "importer: open X: is a directory", "importer: download X:
// HTTP 404 Not Found", or the network error. Cancelling ctx stops a
// download.
func Open(ctx context.Context, src string) (io.ReadCloser, Info, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return download(ctx, src)
	}
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("importer: open %s: no such file", src)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("importer: open %s: %w", src, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("importer: open %s: %w", src, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, Info{}, fmt.Errorf("importer: open %s: is a directory, not a catalog file", src)
	}
	return f, Info{Name: st.Name(), Size: st.Size()}, nil
}

// headerTimeout bounds the wait for a server's answer; the body itself may
// take as long as it takes (a 40 MB catalog on a slow link), until ctx ends.
const headerTimeout = 30 * time.Second

func download(ctx context.Context, src string) (io.ReadCloser, Info, error) {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return nil, Info{}, fmt.Errorf("importer: download %s: not a valid URL", src)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, Info{}, fmt.Errorf("importer: download %s: %w", src, err)
	}
	// A client of its own: http.DefaultClient has no timeouts at all.
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, Info{}, fmt.Errorf("importer: download %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, Info{}, fmt.Errorf("importer: download %s: HTTP %s", src, resp.Status)
	}
	// The name after redirects (GitHub's release URLs redirect), so that
	// the format hint is the asset's real name.
	name := path.Base(resp.Request.URL.Path)
	return resp.Body, Info{Name: name, Size: resp.ContentLength}, nil
}
