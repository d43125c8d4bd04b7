package handlers

import (
	"context"
	"strconv"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/config"
	"github.com/anigo/anigo/views"
)

// This file holds the fragments: each is rendered by one method from
// validated parameters, and cached under those parameters' canonical form.

const (
	popularLimit = 12 // titles in the home's popular list
	topTenLimit  = 10
)

func (h *handler) popularFragment() *fragment {
	return &fragment{
		name:   config.FragmentPopular,
		params: "limit=" + strconv.Itoa(popularLimit),
		render: func(ctx context.Context) ([]byte, error) {
			info, err := h.store.Info(ctx)
			if err != nil {
				return nil, err
			}
			list, err := h.store.Popular(ctx, popularLimit)
			if err != nil {
				return nil, err
			}
			return renderBytes(ctx, views.PopularFragment(list, info))
		},
	}
}

// topTenFragment is the home's ranking. Its params cannot collide with a
// /top page's, which are a RankQuery's Key.
func (h *handler) topTenFragment() *fragment {
	q := anigo.RankQuery{Page: 1, PerPage: topTenLimit}
	return &fragment{
		name:   config.FragmentRanking,
		params: "home",
		render: func(ctx context.Context) ([]byte, error) {
			list, err := h.store.Ranking(ctx, q)
			if err != nil {
				return nil, err
			}
			return renderBytes(ctx, views.TopTenFragment(list))
		},
	}
}

// countFragment is the number of titles matching q's filters.
func (h *handler) countFragment(q anigo.ListQuery) *fragment {
	q = q.Filters()
	return &fragment{
		name:   config.FragmentCount,
		params: q.Key(),
		render: func(ctx context.Context) ([]byte, error) {
			n, err := h.store.Count(ctx, q)
			if err != nil {
				return nil, err
			}
			return renderBytes(ctx, views.Count(n))
		},
	}
}

// catalogFragment is one page of the catalog. A page past the end is a
// pageError, never cached.
func (h *handler) catalogFragment(q anigo.ListQuery) *fragment {
	return &fragment{
		name:   config.FragmentCatalog,
		params: q.Key(),
		render: func(ctx context.Context) ([]byte, error) {
			total, err := h.store.Count(ctx, q.Filters())
			if err != nil {
				return nil, err
			}
			if last := views.LastPage(total, q.PerPage); q.Page > last {
				return nil, pastEnd(q.WithPage(last).URL(), last)
			}
			list, err := h.store.List(ctx, q)
			if err != nil {
				return nil, err
			}
			// Info says how popularity is measured, and whether an empty
			// listing is an empty catalog.
			info, err := h.store.Info(ctx)
			if err != nil {
				return nil, err
			}
			return renderBytes(ctx, views.CatalogFragment(q, list, total, info))
		},
	}
}

// rankingFragment is one page of the ranking by score.
func (h *handler) rankingFragment(q anigo.RankQuery) *fragment {
	return &fragment{
		name:   config.FragmentRanking,
		params: q.Key(),
		render: func(ctx context.Context) ([]byte, error) {
			total, err := h.store.RankingCount(ctx, q.Type)
			if err != nil {
				return nil, err
			}
			if last := views.LastPage(total, q.PerPage); q.Page > last {
				return nil, pastEnd(q.WithPage(last).URL(), last)
			}
			list, err := h.store.Ranking(ctx, q)
			if err != nil {
				return nil, err
			}
			return renderBytes(ctx, views.RankingFragment(q, list, total))
		},
	}
}

// animeFragment is a title's card and related titles. The cached bytes
// start with a header line, "<canonical path> <title>\n", so that a cache
// hit can still redirect to the canonical URL and name the page without
// asking PostgreSQL; splitAnime takes it off.
func (h *handler) animeFragment(id int64) *fragment {
	return &fragment{
		name:   config.FragmentAnime,
		params: "id=" + strconv.FormatInt(id, 10),
		render: func(ctx context.Context) ([]byte, error) {
			d, err := h.store.Anime(ctx, id)
			if err != nil {
				return nil, err
			}
			if d.Adult && !h.showAdult {
				return nil, errNoSuchAnime
			}
			head := d.Path() + " " + oneLine(d.Title) + "\n"
			html, err := renderBytes(ctx, views.AnimeFragment(d))
			return append([]byte(head), html...), err
		},
	}
}
