package cache

import (
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// defaultNearSize is how many fragments each process keeps in memory; at
// 5 to 40 kB a fragment that is at most about 40 MB.
const defaultNearSize = 1024

// near is a bounded in-process copy of fresh fragments in front of Redis,
// so that a hit costs no round trip. An entry carries the fresh-until of its
// Redis value and is served only until then, and its key carries the
// catalog version, so it never serves what Redis would not. Clear reaches
// every instance's near cache through Redis pub/sub (see listenClears).
// The LRU comes from hashicorp/golang-lru: a small, well-kept, thread-safe
// implementation, where writing our own would add code and risk only.
type near struct {
	lru *lru.Cache[string, entry]
}

// newNear returns a near cache of size entries, or nil (off) for size < 0.
func newNear(size int) *near {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = defaultNearSize
	}
	l, err := lru.New[string, entry](size)
	if err != nil {
		panic("cache: near: " + err.Error()) // only for size <= 0, excluded above
	}
	return &near{lru: l}
}

// get returns key's HTML while it is fresh at now.
func (n *near) get(key string, now time.Time) ([]byte, bool) {
	if n == nil {
		return nil, false
	}
	e, ok := n.lru.Get(key)
	if !ok || !now.Before(e.freshUntil) {
		return nil, false
	}
	return e.html, true
}

// stale returns key's HTML whatever its age, for serving when a render
// fails; until is its fresh-until.
func (n *near) stale(key string) (html []byte, until time.Time, ok bool) {
	if n == nil {
		return nil, time.Time{}, false
	}
	e, ok := n.lru.Peek(key)
	return e.html, e.freshUntil, ok
}

func (n *near) put(key string, e entry) {
	if n != nil {
		n.lru.Add(key, e)
	}
}

// purge drops every entry whose key starts with prefix.
func (n *near) purge(prefix string) {
	if n == nil {
		return
	}
	for _, k := range n.lru.Keys() {
		if strings.HasPrefix(k, prefix) {
			n.lru.Remove(k)
		}
	}
}
