package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"

	"github.com/anigo/anigo"
	"github.com/jackc/pgx/v5"
)

// chunkSize is the number of ids per catalog_order row.
const chunkSize = 1000

// importLock is the advisory lock key that serialises imports.
const importLock = migrateLock + 1

// NotifyChannel is the channel an import that changed the catalog notifies,
// with the new version as payload.
const NotifyChannel = "anigo_catalog"

// stagingColumns are COPY's columns, in the order of recordSource.Next.
var stagingColumns = []string{"seq", "source", "source_id", "source_url", "title", "type", "episodes", "score",
	"members", "providers", "adult", "year", "season", "status", "image_url", "thumb_url", "synopsis", "genres"}

// Import writes records into the catalog in one transaction: it streams
// them with COPY into a staging table, then upserts them by (source,
// source id), rewrites the genres of changed titles, and, when anything
// changed, rebuilds the precomputed orders, bumps the catalog version and
// notifies NotifyChannel (sent on commit). A title listed twice counts
// once, the last one read winning. Titles absent from the records are kept.
// A large first load drops and rebuilds the secondary indexes (see
// dropSecondary). Imports run one at a time; readers are never blocked,
// except those of anime during a first load.
// progress, when not nil, is called with the number of records copied so
// far. An error from records, a database error or ctx ending rolls back
// everything: the catalog stays exactly as it was. Errors are wrapped as
// "postgres: import: ...".
func (s *Store) Import(ctx context.Context, records iter.Seq2[anigo.ImportRecord, error], progress func(done int64)) (sum anigo.ImportSummary, err error) {
	defer func() {
		// pgx interrupts a COPY by closing the connection, so a cancelled
		// import can fail with "use of closed network connection": name
		// the cause as well.
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
	}()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return sum, fmt.Errorf("postgres: import: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // no-op after Commit
	// One import at a time: a second waits here rather than interleaving
	// its rebuild of the orders with the first's.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", importLock); err != nil {
		return sum, fmt.Errorf("postgres: import: lock: %w", err)
	}

	// Memory for the sorts and index builds of this transaction only.
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'; SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return sum, fmt.Errorf("postgres: import: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_staging (
		seq bigint, source text COLLATE "C", source_id text COLLATE "C", source_url text, title text, type text, episodes integer,
		score double precision, members integer, providers integer, adult boolean, year integer, season text,
		status text, image_url text, thumb_url text, synopsis text, genres text[]) ON COMMIT DROP;
		CREATE TEMP TABLE import_changed (id bigint, genres text[], inserted boolean) ON COMMIT DROP`); err != nil {
		return sum, fmt.Errorf("postgres: import: staging table: %w", err)
	}
	src := &recordSource{progress: progress}
	src.next, src.stop = iter.Pull2(records)
	defer src.stop()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"import_staging"}, stagingColumns, src)
	if src.err != nil {
		return sum, fmt.Errorf("postgres: import: %w", src.err) // the file's error, not COPY's echo of it
	}
	if err != nil {
		return sum, fmt.Errorf("postgres: import: copy: %w", err)
	}
	sum.Read = int(n)

	// A title listed twice counts once, the last one read winning: ON
	// CONFLICT cannot touch a row twice in one statement.
	tag, err := tx.Exec(ctx, dedupeSQL)
	if err != nil {
		return sum, fmt.Errorf("postgres: import: duplicates: %w", err)
	}
	distinct := sum.Read - int(tag.RowsAffected())

	var rebuild []string
	if sum.Read >= bulkMin {
		if rebuild, err = dropSecondary(ctx, tx); err != nil {
			return sum, err
		}
	}
	merge := upsertSQL
	if rebuild != nil {
		merge = insertSQL
	}
	if _, err := tx.Exec(ctx, merge); err != nil {
		return sum, fmt.Errorf("postgres: import: upsert: %w", err)
	}
	if err := tx.QueryRow(ctx, countSQL).Scan(&sum.Inserted, &sum.Updated); err != nil {
		return sum, fmt.Errorf("postgres: import: count: %w", err)
	}
	sum.Unchanged = distinct - sum.Inserted - sum.Updated
	if sum.Changed() {
		for _, sql := range genreSQL {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return sum, fmt.Errorf("postgres: import: genres: %w", err)
			}
		}
	}
	if rebuild != nil {
		// Statistics too: a fresh table has none, and the planner would
		// guess badly until autovacuum came by.
		rebuild = append(rebuild, "ANALYZE anime, anime_genres, genres")
	}
	for _, ddl := range rebuild {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return sum, fmt.Errorf("postgres: import: rebuild: %w", err)
		}
	}
	if sum.Changed() {
		if err := refresh(ctx, tx); err != nil {
			return sum, err
		}
	} else if err := addMissingTallies(ctx, tx); err != nil {
		return sum, err
	}
	if err := tx.QueryRow(ctx, "SELECT version FROM catalog").Scan(&sum.Version); err != nil {
		return sum, fmt.Errorf("postgres: import: version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return sum, fmt.Errorf("postgres: import: commit: %w", err)
	}
	return sum, nil
}

// dedupeSQL deletes all but the last staged row of each title listed more
// than once. It hashes the keys rather than sorting whole rows.
const dedupeSQL = `
DELETE FROM import_staging s
USING (SELECT source, source_id, max(seq) AS last FROM import_staging
	GROUP BY source, source_id HAVING count(*) > 1) d
WHERE s.source = d.source AND s.source_id = d.source_id AND s.seq <> d.last`

// animeColumnList are the columns an import writes.
const animeColumnList = `source, source_id, source_url, title, type, episodes, score, members, providers,
	adult, year, season, status, image_url, thumb_url, synopsis, genres`

// upsertSQL merges the staging table into anime and notes the titles it
// inserted or changed. The WHERE of DO UPDATE leaves identical rows alone:
// a re-import writes nothing.
const upsertSQL = `
WITH up AS (
	INSERT INTO anime AS a (` + animeColumnList + `)
	SELECT ` + animeColumnList + ` FROM import_staging
	ON CONFLICT (source, source_id) DO UPDATE SET
		source_url = excluded.source_url, title = excluded.title, type = excluded.type,
		episodes = excluded.episodes, score = excluded.score, members = excluded.members,
		providers = excluded.providers, adult = excluded.adult, year = excluded.year,
		season = excluded.season, status = excluded.status, image_url = excluded.image_url,
		thumb_url = excluded.thumb_url, synopsis = excluded.synopsis, genres = excluded.genres,
		updated_at = now()
	WHERE (a.source_url, a.title, a.type, a.episodes, a.score, a.members, a.providers, a.adult, a.year,
		a.season, a.status, a.image_url, a.thumb_url, a.synopsis, a.genres)
		IS DISTINCT FROM
		(excluded.source_url, excluded.title, excluded.type, excluded.episodes, excluded.score,
		excluded.members, excluded.providers, excluded.adult, excluded.year, excluded.season,
		excluded.status, excluded.image_url, excluded.thumb_url, excluded.synopsis, excluded.genres)
	RETURNING a.id, a.genres, xmax = 0 AS inserted
)
INSERT INTO import_changed SELECT * FROM up`

// insertSQL is upsertSQL for a bulk load into an empty catalog, whose
// unique constraint dropSecondary has lifted: plain inserts.
const insertSQL = `
WITH up AS (
	INSERT INTO anime (` + animeColumnList + `)
	SELECT ` + animeColumnList + ` FROM import_staging ORDER BY seq
	RETURNING id, genres, true
)
INSERT INTO import_changed SELECT * FROM up`

// countSQL counts the titles upsertSQL inserted and updated.
const countSQL = `SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM import_changed`

// genreSQL rewrites the genre links of changed titles, one statement each:
// statements of one WITH share a snapshot and would not see each other.
var genreSQL = []string{
	`INSERT INTO genres (name) SELECT DISTINCT g FROM import_changed, unnest(genres) AS g
	 ON CONFLICT (name) DO NOTHING`,
	`DELETE FROM anime_genres ag USING import_changed c WHERE ag.anime_id = c.id AND NOT c.inserted`,
	`INSERT INTO anime_genres (anime_id, genre_id)
	 SELECT c.id, g.id FROM import_changed c, unnest(c.genres) AS n(name) JOIN genres g ON g.name = n.name`,
}

// bulkMin is the size from which an import into an empty catalog takes
// the bulk path of dropSecondary.
const bulkMin = 10_000

// dropSecondary prepares a first load, when the catalog is empty: it drops
// the indexes and constraints but anime's primary key (insertSQL then
// replaces upsertSQL) and returns the DDL that recreates them. Building an index once over a million rows is many
// times faster than updating it a million times (the trigram index most of
// all), and one validation join beats a million foreign-key lookups. The
// price is a lock on anime until commit, harmless while it has no rows.
// On a catalog with rows it does nothing.
func dropSecondary(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var empty bool
	if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT FROM anime)").Scan(&empty); err != nil || !empty {
		return nil, wrap("bulk load", err)
	}
	rows, err := tx.Query(ctx, `
		SELECT 'ALTER TABLE ' || conrelid::regclass || ' DROP CONSTRAINT ' || quote_ident(conname),
			'ALTER TABLE ' || conrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid)
		FROM pg_constraint WHERE (contype IN ('f', 'p') AND conrelid = 'anime_genres'::regclass)
			OR (contype = 'u' AND conrelid = 'anime'::regclass)
		UNION ALL
		SELECT 'DROP INDEX ' || indexrelid::regclass, pg_get_indexdef(indexrelid)
		FROM pg_index i WHERE indrelid IN ('anime'::regclass, 'anime_genres'::regclass)
			AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)`)
	if err != nil {
		return nil, wrap("bulk load", err)
	}
	var drop, create []string
	for rows.Next() {
		var d, c string
		if err := rows.Scan(&d, &c); err != nil {
			rows.Close()
			return nil, wrap("bulk load", err)
		}
		drop, create = append(drop, d), append(create, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("bulk load", err)
	}
	for _, ddl := range drop {
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return nil, wrap("bulk load", err)
		}
	}
	return create, nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("postgres: import: %s: %w", what, err)
}

// refresh recomputes what imports keep: genre counts, the precomputed
// orders and the version, and queues the notification.
func refresh(ctx context.Context, tx pgx.Tx) error {
	steps := []struct{ what, sql string }{
		{"genre counts", `UPDATE genres g SET titles = c.titles, titles_all = c.titles_all
			FROM (SELECT g.id, count(a.id) FILTER (WHERE NOT a.adult) AS titles, count(a.id) AS titles_all
				FROM genres g LEFT JOIN anime_genres ag ON ag.genre_id = g.id LEFT JOIN anime a ON a.id = ag.anime_id
				GROUP BY g.id) c
			WHERE g.id = c.id AND (g.titles, g.titles_all) IS DISTINCT FROM (c.titles, c.titles_all)`},
		{"catalog", `UPDATE catalog SET version = version + 1, updated_at = now(),
			has_members = EXISTS (SELECT FROM anime WHERE members IS NOT NULL)`},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.sql); err != nil {
			return fmt.Errorf("postgres: import: %s: %w", st.what, err)
		}
	}
	if err := writeOrders(ctx, tx); err != nil {
		return err
	}
	var version int64
	if err := tx.QueryRow(ctx, "SELECT version FROM catalog").Scan(&version); err != nil {
		return fmt.Errorf("postgres: import: version: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, strconv.FormatInt(version, 10)); err != nil {
		return fmt.Errorf("postgres: import: notify: %w", err)
	}
	return nil
}

// addMissingTallies rewrites the precomputed orders when a chunk lacks its
// tally (written before tallies existed, or with another list of types), so
// that an import that changes nothing still brings a catalog up to date.
// The orders' titles are the same, so the version stays.
func addMissingTallies(ctx context.Context, tx pgx.Tx) error {
	var missing bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM catalog_order co WHERE `+tallyCells+` IS NULL)`).Scan(&missing)
	if err != nil {
		return fmt.Errorf("postgres: import: tallies: %w", err)
	}
	if !missing {
		return nil
	}
	return writeOrders(ctx, tx)
}

// recordSource adapts a record sequence to pgx.CopyFromSource, so that
// COPY pulls records one at a time as it sends them.
type recordSource struct {
	next     func() (anigo.ImportRecord, error, bool)
	stop     func()
	progress func(int64)
	row      []any
	seq      int64
	err      error
}

func (r *recordSource) Next() bool {
	rec, err, ok := r.next()
	if !ok {
		return false
	}
	if err != nil {
		r.err = err
		return false
	}
	r.seq++
	a := rec.Anime
	genres := a.Genres
	if genres == nil {
		genres = []string{}
	}
	r.row = []any{r.seq, a.Source, a.SourceID, a.SourceURL, a.Title, a.Type, nullInt(a.Episodes), nullFloat(a.Score),
		nullInt(a.Members), a.Providers, a.Adult, nullInt(a.Year), nullText(a.Season), nullText(a.Status),
		nullText(a.ImageURL), nullText(a.ThumbURL), nullText(a.Synopsis), genres}
	if r.progress != nil && r.seq%chunkSize == 0 {
		r.progress(r.seq)
	}
	return true
}

func (r *recordSource) Values() ([]any, error) { return r.row, nil }

// Err makes COPY fail, and so the transaction, when the records did.
func (r *recordSource) Err() error { return r.err }

// Zero values are "unknown" in anigo.Anime and NULL in the database.
func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullFloat(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}
