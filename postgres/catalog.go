package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/anigo/anigo"
	"github.com/jackc/pgx/v5"
)

// animeColumns are scanned by scanAnime, in order; NULLs become zero values.
const animeColumns = `a.id, a.source, a.source_id, a.source_url, a.title, a.type, coalesce(a.episodes, 0),
	coalesce(a.score, 0), coalesce(a.members, 0), a.providers, a.adult, coalesce(a.year, 0),
	coalesce(a.season, ''), coalesce(a.status, ''), coalesce(a.image_url, ''), coalesce(a.thumb_url, ''),
	coalesce(a.synopsis, ''), a.genres`

func scanAnime(row pgx.Row, extra ...any) (anigo.Anime, error) {
	var a anigo.Anime
	dest := append([]any{&a.ID, &a.Source, &a.SourceID, &a.SourceURL, &a.Title, &a.Type, &a.Episodes,
		&a.Score, &a.Members, &a.Providers, &a.Adult, &a.Year, &a.Season, &a.Status, &a.ImageURL,
		&a.ThumbURL, &a.Synopsis, &a.Genres}, extra...)
	err := row.Scan(dest...)
	return a, err
}

func collectAnime(rows pgx.Rows, err error) ([]anigo.Anime, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (anigo.Anime, error) { return scanAnime(r) })
}

// reverseFrom is the offset past which a filtered listing may be read from
// its end: below it, counting the matches first costs more than it saves.
const reverseFrom = 2000

// maxRelated is the number of related titles on a detail page.
const maxRelated = 12

// visible is the condition that hides adult titles unless shown.
func (s *Store) visible() string {
	if s.showAdult {
		return "true"
	}
	return "NOT a.adult"
}

// Popular returns the limit (1 to anigo.MaxPerPage) most popular visible
// titles: by members where the catalog has them, else by providers, then
// score. Errors are wrapped "postgres: popular: ...".
func (s *Store) Popular(ctx context.Context, limit int) ([]anigo.Anime, error) {
	list, err := s.page(ctx, string(anigo.SortPopularity), "", 0, clamp(limit, 1, anigo.MaxPerPage))
	if err != nil {
		return nil, wrapErr("postgres: popular: %w", err)
	}
	return list, nil
}

// List returns page q.Page of the visible titles matching q's filters in
// q.Sort's order; a page past the end is empty. A page without filters, or
// filtered by any of type, genre and minimum score, costs the same at any
// depth (see catalog_order and tally.go); title text reads the sort's index
// from whichever end is nearer.
// Errors are wrapped "postgres: list anime: ...".
func (s *Store) List(ctx context.Context, q anigo.ListQuery) ([]anigo.Anime, error) {
	keys, ok := orders[string(q.Sort)]
	if !ok {
		q.Sort, keys = anigo.SortPopularity, orders[string(anigo.SortPopularity)]
	}
	limit, offset := pageBounds(q.Page, q.PerPage)
	var list []anigo.Anime
	var err error
	done := false
	if filter, ok := listingFor(q); ok {
		list, err = s.page(ctx, string(q.Sort), filter, offset, limit)
		done = true
	} else if tq, ok := s.tallyFor(q); ok {
		list, done, err = s.tallyPage(ctx, string(q.Sort), tq, offset, limit)
	}
	if !done && err == nil {
		var args []any
		where := s.filters(q, &args)
		list, err = s.filteredPage(ctx, where, args, keys, offset, limit, func() (int, error) { return s.Count(ctx, q) })
	}
	if err != nil {
		return nil, wrapErr("postgres: list anime: %w", err)
	}
	return list, nil
}

// Count returns the number of visible titles matching q's filters; without
// title text, from the precomputed orders and their tallies. Errors are wrapped
// "postgres: count anime: ...".
func (s *Store) Count(ctx context.Context, q anigo.ListQuery) (int, error) {
	var n int
	var err error
	done := false
	if filter, ok := listingFor(q); ok {
		n, err = s.orderLen(ctx, string(anigo.SortPopularity), filter)
		done = true
	} else if tq, ok := s.tallyFor(q); ok {
		n, done, err = s.tallyCount(ctx, tq)
	}
	if !done && err == nil {
		var args []any
		where := s.filters(q, &args)
		err = s.pool.QueryRow(ctx, "SELECT count(*) FROM anime a WHERE "+where, args...).Scan(&n)
	}
	if err != nil {
		return 0, wrapErr("postgres: count anime: %w", err)
	}
	return n, nil
}

// listingFor returns the catalog_order listing that answers q, if any: no
// filter, or one on type or genre alone.
func listingFor(q anigo.ListQuery) (filter string, ok bool) {
	switch q.Filters() {
	case anigo.ListQuery{}:
		return "", true
	case anigo.ListQuery{Type: q.Type}:
		return typeFilter(q.Type), true
	case anigo.ListQuery{Genre: q.Genre}:
		return genreFilter(q.Genre), true
	}
	return "", false
}

// orderLen is the length of a precomputed order: the position of its last
// title, read from its last chunk.
func (s *Store) orderLen(ctx context.Context, sort, filter string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT chunk * $4 + cardinality(ids) FROM catalog_order
		WHERE sort = $1 AND filter = $2 AND with_adult = $3 ORDER BY chunk DESC LIMIT 1), 0)`,
		sort, filter, s.showAdult, chunkSize).Scan(&n)
	return n, err
}

// filters renders q's filters as a WHERE condition, appending its args.
func (s *Store) filters(q anigo.ListQuery, args *[]any) string {
	arg := func(v any) string { *args = append(*args, v); return "$" + strconv.Itoa(len(*args)) }
	conds := []string{s.visible()}
	if q.Type != "" {
		conds = append(conds, "a.type = "+arg(q.Type))
	}
	if q.Genre != "" {
		conds = append(conds, `EXISTS (SELECT 1 FROM anime_genres ag JOIN genres g ON g.id = ag.genre_id
			WHERE ag.anime_id = a.id AND g.name = `+arg(q.Genre)+")")
	}
	if q.MinScore > 0 {
		conds = append(conds, "a.score >= "+arg(q.MinScore))
	}
	if text := anigo.NormalizeText(q.Q); text != "" {
		conds = append(conds, "a.title ILIKE "+arg("%"+escapeLike(text)+"%")) // the trigram index serves ILIKE
	}
	return strings.Join(conds, " AND ")
}

// filteredPage reads one page in keys' order from the rows matching where.
// Past reverseFrom it counts the matches and, for a page in the second
// half, reads the index backwards with the smaller offset, so that the
// last page costs what the first does.
func (s *Store) filteredPage(ctx context.Context, where string, args []any, keys []orderKey, offset, limit int, count func() (int, error)) ([]anigo.Anime, error) {
	reverse := false
	if offset >= reverseFrom {
		total, err := count()
		if err != nil {
			return nil, err
		}
		if offset >= total {
			return nil, nil
		}
		if offset > total/2 {
			reverse = true
			end := min(offset+limit, total)
			offset, limit = total-end, end-offset
		}
	}
	n := len(args)
	sql := fmt.Sprintf("SELECT %s FROM anime a WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
		animeColumns, where, orderBy(keys, reverse), n+1, n+2)
	list, err := collectAnime(s.pool.Query(ctx, sql, append(args, limit, offset)...))
	if reverse {
		slices.Reverse(list)
	}
	return list, err
}

// page reads positions offset to offset+limit of a precomputed listing:
// the ids from catalog_order's chunks, then the titles by primary key.
func (s *Store) page(ctx context.Context, sort, filter string, offset, limit int) ([]anigo.Anime, error) {
	if limit <= 0 {
		return nil, nil
	}
	first, last := offset/chunkSize, (offset+limit-1)/chunkSize
	// Array subscripts are 1-based and inclusive: the page starts at
	// offset%chunkSize+1 of the first chunk and ends at
	// (offset+limit-1)%chunkSize+1 of the last, so only the page's ids
	// leave the database, not the rest of a 1,000-id chunk.
	rows, err := s.pool.Query(ctx, `SELECT ids[CASE WHEN chunk = $4 THEN $5 ELSE 1 END : CASE WHEN chunk = $3 THEN $7::int ELSE $8::int END]
		FROM catalog_order
		WHERE sort = $1 AND filter = $6 AND with_adult = $2 AND chunk BETWEEN $4 AND $3 ORDER BY chunk`,
		sort, s.showAdult, last, first, offset%chunkSize+1, filter, (offset+limit-1)%chunkSize+1, chunkSize)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var chunk []int64
		if err := rows.Scan(&chunk); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, chunk...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids = ids[:min(len(ids), limit)]
	return s.byIDs(ctx, ids)
}

// byIDs returns the titles of ids, in the order of ids.
func (s *Store) byIDs(ctx context.Context, ids []int64) ([]anigo.Anime, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := collectAnime(s.pool.Query(ctx, "SELECT "+animeColumns+" FROM anime a WHERE a.id = ANY($1)", ids))
	if err != nil {
		return nil, err
	}
	pos := make(map[int64]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortFunc(list, func(x, y anigo.Anime) int { return pos[x.ID] - pos[y.ID] })
	return list, nil
}

// Ranking returns page q.Page of the visible titles ranked by score
// (scored, and with at least 1000 members, or listed by two providers or
// more where members are unknown), best first, ties by id; Rank counts
// from 1 at the top of the ranking for q.Type. Any page costs the same.
// Errors are wrapped "postgres: ranking: ...".
func (s *Store) Ranking(ctx context.Context, q anigo.RankQuery) ([]anigo.Ranked, error) {
	limit, offset := pageBounds(q.Page, q.PerPage)
	list, err := s.page(ctx, rankingSort, typeFilter(q.Type), offset, limit)
	if err != nil {
		return nil, wrapErr("postgres: ranking: %w", err)
	}
	ranked := make([]anigo.Ranked, len(list))
	for i, a := range list {
		ranked[i] = anigo.Ranked{Anime: a, Rank: offset + i + 1}
	}
	return ranked, nil
}

// RankingCount returns the number of visible ranked titles of type typ
// ("" for all). Errors are wrapped "postgres: ranking count: ...".
func (s *Store) RankingCount(ctx context.Context, typ string) (int, error) {
	n, err := s.orderLen(ctx, rankingSort, typeFilter(typ))
	if err != nil {
		return 0, wrapErr("postgres: ranking count: %w", err)
	}
	return n, nil
}

// Anime returns the visible title id with its rank by score and by
// popularity (0 when it has none) and up to 12 related titles: among the
// 1000 most popular of each of its genres, those that share the most
// genres with it, then the most popular. It returns an
// ENOTFOUND *anigo.Error when there is no such visible title, and wraps
// other errors "postgres: anime N: ...".
func (s *Store) Anime(ctx context.Context, id int64) (anigo.AnimeDetail, error) {
	var d anigo.AnimeDetail
	var err error
	d.Anime, err = scanAnime(s.pool.QueryRow(ctx, "SELECT "+animeColumns+" FROM anime a WHERE a.id = $1 AND "+s.visible(), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, anigo.Errorf(anigo.ENOTFOUND, "There is no anime %d in the catalog.", id)
	}
	if err != nil {
		return d, wrapErr("postgres: anime %d: %w", id, err)
	}
	// The position in the precomputed orders: array_position over every
	// chunk reads the whole order (8 MB for a million titles), which is
	// fine for a page whose fragment is cached for minutes.
	err = s.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT chunk * $3 + array_position(ids, $1) FROM catalog_order
			WHERE sort = 'ranking' AND filter = '' AND with_adult = $2 AND $1 = ANY(ids)), 0),
		coalesce((SELECT chunk * $3 + array_position(ids, $1) FROM catalog_order
			WHERE sort = 'popularity' AND filter = '' AND with_adult = $2 AND $1 = ANY(ids)), 0)`,
		id, s.showAdult, chunkSize).Scan(&d.ScoreRank, &d.PopularityRank)
	if err != nil {
		return d, wrapErr("postgres: anime %d: ranks: %w", id, err)
	}
	// Candidates are the most popular titles of each of its genres (the
	// first chunk of their listings), not every title sharing a genre: on a
	// large catalog a genre holds a hundred thousand titles.
	d.Related, err = collectAnime(s.pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM anime a JOIN (
			SELECT c.id, count(*) AS shared
			FROM catalog_order o, unnest(o.ids) AS c(id)
			WHERE o.sort = 'popularity' AND o.with_adult = $3 AND o.chunk = 0
				AND o.filter = ANY (SELECT 'genre:' || g FROM anime, unnest(genres) AS g WHERE id = $1)
				AND c.id <> $1
			GROUP BY c.id
		) r ON r.id = a.id
		ORDER BY r.shared DESC, %s LIMIT $2`,
		animeColumns, orderBy(orders[string(anigo.SortPopularity)], false)), id, maxRelated, s.showAdult))
	if err != nil {
		return d, wrapErr("postgres: anime %d: related: %w", id, err)
	}
	return d, nil
}

// Search returns up to limit (1 to anigo.MaxPerPage) visible titles close
// to q, best first: titles starting with q, then containing it, then
// similar by trigrams (typo tolerant: "fullmetal alchimist" finds
// Fullmetal Alchemist), ties by popularity. A q shorter than 3 characters
// matches title prefixes only, as trigrams need three. An empty q gives
// nothing. Errors are wrapped "postgres: search: ...".
func (s *Store) Search(ctx context.Context, q string, limit int) ([]anigo.Anime, error) {
	q = anigo.NormalizeText(q)
	if q == "" {
		return nil, nil
	}
	limit = clamp(limit, 1, anigo.MaxPerPage)
	prefix := escapeLike(strings.ToLower(q)) + "%"
	popularity := orderBy(orders[string(anigo.SortPopularity)], false)
	var sql string
	args := []any{q, prefix, limit}
	if utf8.RuneCountInString(q) < 3 {
		sql = fmt.Sprintf(`SELECT %s FROM anime a WHERE %s AND lower(a.title) COLLATE "C" LIKE $1
			ORDER BY %s LIMIT $2`, animeColumns, s.visible(), popularity)
		args = args[1:]

	} else {
		sql = fmt.Sprintf(`SELECT %s FROM anime a
			WHERE %s AND (a.title ILIKE '%%' || $2 OR $1 <%% a.title)
			ORDER BY lower(a.title) COLLATE "C" LIKE $2 DESC, a.title ILIKE '%%' || $2 DESC,
				word_similarity($1, a.title) DESC, similarity($1, a.title) DESC, %s
			LIMIT $3`, animeColumns, s.visible(), popularity)
	}
	list, err := collectAnime(s.pool.Query(ctx, sql, args...))
	if err != nil {
		return nil, wrapErr("postgres: search: %w", err)
	}
	return list, nil
}

// Genres returns every genre that visible titles carry, by name, with
// their number of visible titles. Errors are wrapped "postgres: genres: ...".
func (s *Store) Genres(ctx context.Context) ([]anigo.Genre, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, CASE WHEN $1 THEN titles_all ELSE titles END AS n
		FROM genres WHERE CASE WHEN $1 THEN titles_all ELSE titles END > 0 ORDER BY name`, s.showAdult)
	if err != nil {
		return nil, wrapErr("postgres: genres: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[anigo.Genre])
	if err != nil {
		return nil, wrapErr("postgres: genres: %w", err)
	}
	return list, nil
}

// Info describes the catalog. Errors are wrapped "postgres: catalog info: ...".
func (s *Store) Info(ctx context.Context) (anigo.CatalogInfo, error) {
	var c anigo.CatalogInfo
	err := s.pool.QueryRow(ctx, "SELECT version, has_members, updated_at FROM catalog").Scan(&c.Version, &c.HasMembers, &c.UpdatedAt)
	if err == nil {
		c.Total, err = s.orderLen(ctx, string(anigo.SortPopularity), "")
	}
	if err != nil {
		return c, wrapErr("postgres: catalog info: %w", err)
	}
	return c, nil
}

// Version returns the catalog version, which every import that changes
// something bumps. Errors are wrapped "postgres: catalog version: ...".
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, "SELECT version FROM catalog").Scan(&v); err != nil {
		return 0, wrapErr("postgres: catalog version: %w", err)
	}
	return v, nil
}

// pageBounds turns a 1-based page and a page size into LIMIT and OFFSET,
// clamping both to the anigo bounds.
func pageBounds(page, perPage int) (limit, offset int) {
	if perPage <= 0 {
		perPage = anigo.DefaultPerPage
	}
	limit = min(perPage, anigo.MaxPerPage)
	return limit, (clamp(page, 1, anigo.MaxPage) - 1) * limit
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

// escapeLike makes s match itself literally in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
