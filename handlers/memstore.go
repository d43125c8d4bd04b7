package handlers

import (
	"sync"
	"time"
)

// memStorage is a fiber.Storage in memory for the rate limiter while Redis
// is away. Fiber's own fallback starts a sweeping goroutine that nothing
// stops, one per limiter and app; this one sweeps expired entries as it is
// written to instead, so it needs no goroutine and leaks none.
type memStorage struct {
	mu      sync.Mutex
	entries map[string]memEntry
	sets    int
}

type memEntry struct {
	val     []byte
	expires time.Time // zero: never
}

// sweepEvery is how many writes pass between sweeps of expired entries.
const sweepEvery = 1024

func newMemStorage() *memStorage { return &memStorage{entries: make(map[string]memEntry)} }

func (m *memStorage) Get(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok || (!e.expires.IsZero() && time.Now().After(e.expires)) {
		return nil, nil
	}
	return e.val, nil
}

func (m *memStorage) Set(key string, val []byte, exp time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := memEntry{val: append([]byte(nil), val...)}
	if exp > 0 {
		e.expires = time.Now().Add(exp)
	}
	m.entries[key] = e
	if m.sets++; m.sets%sweepEvery == 0 {
		now := time.Now()
		for k, e := range m.entries {
			if !e.expires.IsZero() && now.After(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	return nil
}

func (m *memStorage) Delete(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	return nil
}

func (m *memStorage) Reset() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.entries)
	return nil
}

func (m *memStorage) Close() error { return nil }
