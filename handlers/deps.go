package handlers

import (
	"context"

	"github.com/anigo/anigo/cache"

	"github.com/anigo/anigo"
)

// Store is what the handlers need from the catalog (postgres.Store
// implements it). Every method returns ENOTFOUND *anigo.Error for a missing
// title and wraps other failures.
type Store interface {
	// Popular returns the most popular visible titles, most popular first.
	Popular(ctx context.Context, limit int) ([]anigo.Anime, error)
	// List returns one page of the catalog for q.
	List(ctx context.Context, q anigo.ListQuery) ([]anigo.Anime, error)
	// Count returns how many visible titles match q's filters.
	Count(ctx context.Context, q anigo.ListQuery) (int, error)
	// Ranking returns one page of the ranking by score.
	Ranking(ctx context.Context, q anigo.RankQuery) ([]anigo.Ranked, error)
	// RankingCount returns how many titles of a type ("" for all) are ranked.
	RankingCount(ctx context.Context, typ string) (int, error)
	// Anime returns one title with its ranks and related titles.
	Anime(ctx context.Context, id int64) (anigo.AnimeDetail, error)
	// Search returns titles whose names are close to q, best match first.
	Search(ctx context.Context, q string, limit int) ([]anigo.Anime, error)
	// Genres returns every genre of visible titles, by name.
	Genres(ctx context.Context) ([]anigo.Genre, error)
	// Info describes the catalog: version, size, popularity measure.
	Info(ctx context.Context) (anigo.CatalogInfo, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// Fragments serves cached HTML fragments. Get returns the fragment called
// name for the canonical params, calling render at most once per key and
// process when it has to, and the cache status (HIT, STALE, MISS or
// BYPASS). An error comes only from render; a cache failure is never one.
// cache.Cache implements it.
// Peek returns a fragment only when the process holds it fresh in memory,
// without waiting on anything, and counts it as a HIT. Prefetch brings
// several fragments into memory in one round trip, where it can.
type Fragments interface {
	Get(ctx context.Context, name, params string, render func(context.Context) ([]byte, error)) ([]byte, string, error)
	Peek(ctx context.Context, name, params string) ([]byte, bool)
	Prefetch(ctx context.Context, frags ...cache.Fragment)
}
