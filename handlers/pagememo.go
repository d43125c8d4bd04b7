package handlers

import (
	"bytes"
	"compress/gzip"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
)

// pageMemoSize bounds how many assembled pages a process keeps: a page is
// 5 to 40 kB and its gzip copy about a fifth of that, so at most about
// 25 MB, most of it shared with the near cache's fragments.
const pageMemoSize = 512

// pageMemo keeps the bytes of each page as last assembled, with the
// fragments it was assembled from. A page is a function of its key (route,
// canonical query, fragment or whole page) and its fragments' HTML, so as
// long as the cache hands out the same fragments the page is the same: the
// layout is not rendered again, and a gzip copy is made once for every
// client that accepts it. Freshness stays the cache's business: the memo
// is consulted with the fragments the cache has just returned, and serves
// nothing the cache would not.
//
// The LRU is hashicorp/golang-lru, which the near cache already uses.
type pageMemo struct {
	lru *lru.Cache[string, *assembled]
}

// assembled is one page's bytes. Nothing in it changes after it is
// published, except the gzip copy, made once.
type assembled struct {
	parts [][]byte // the fragments' HTML, in the page's order
	body  []byte

	gzipAsks atomic.Int32 // requests that could take the gzip copy
	gzipOnce sync.Once
	gzip     []byte // nil when compressing does not make it smaller
}

func newPageMemo() *pageMemo {
	l, err := lru.New[string, *assembled](pageMemoSize)
	if err != nil {
		panic("handlers: page memo: " + err.Error()) // only for a size <= 0
	}
	return &pageMemo{lru: l}
}

// get returns the page stored under key when it was assembled from parts.
// Comparing is cheap: the cache returns the very slices the page was built
// from, and bytes.Equal stops at once for identical ones.
func (m *pageMemo) get(key string, parts [][]byte) (*assembled, bool) {
	a, ok := m.lru.Get(key)
	if !ok || len(a.parts) != len(parts) {
		return nil, false
	}
	for i, p := range parts {
		if !bytes.Equal(a.parts[i], p) {
			return nil, false
		}
	}
	return a, true
}

// put stores body as the page under key, assembled from parts, which
// neither the caller nor anyone else may modify afterwards.
func (m *pageMemo) put(key string, parts [][]byte, body []byte) *assembled {
	a := &assembled{parts: parts, body: body}
	m.lru.Add(key, a)
	return a
}

// gzipWriters are reused: a new gzip.Writer allocates its tables, which
// costs more than compressing a page.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// gzipped returns the page compressed, or nil when that saves nothing. A
// page is compressed on the second request that could take it, not the
// first: a page asked for once, as when more pages are in use than the memo
// keeps, goes out plain rather than costing a compression it never repays.
// It compresses once, at gzip's default level (within a few percent of the
// best level's size, at a fraction of its time).
func (a *assembled) gzipped() []byte {
	if a.gzipAsks.Add(1) < 2 {
		return nil
	}
	a.gzipOnce.Do(func() {
		var b bytes.Buffer
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		w.Reset(&b)
		if _, err := w.Write(a.body); err != nil {
			return // a bytes.Buffer does not fail
		}
		if err := w.Close(); err != nil {
			return
		}
		if b.Len() < len(a.body) {
			a.gzip = b.Bytes()
		}
	})
	return a.gzip
}
