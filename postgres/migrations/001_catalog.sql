-- The catalog: titles, genres, the catalog version, and the precomputed
-- orders that make every page of an unfiltered listing one index lookup.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE anime (
    id         bigserial PRIMARY KEY,
    -- Ids, not words: byte order makes the unique index cheaper to build
    -- and to probe than a linguistic collation.
    source     text COLLATE "C" NOT NULL,
    source_id  text COLLATE "C" NOT NULL,
    source_url text NOT NULL,
    title      text NOT NULL,
    type       text NOT NULL,
    episodes   integer,          -- NULL: unknown
    score      double precision, -- NULL: unscored
    members    integer,          -- NULL: unknown (anime-offline-database)
    providers  integer NOT NULL DEFAULT 0,
    adult      boolean NOT NULL DEFAULT false,
    year       integer,
    season     text,
    status     text,
    image_url  text,
    thumb_url  text,
    synopsis   text,
    -- A sorted copy of the title's genres, so that a card needs no join;
    -- anime_genres below is what filters and counts use.
    genres     text[] NOT NULL DEFAULT '{}',
    -- Ranked by score: scored, and enough voters that a 10.0 from a handful
    -- does not top the list. Without member counts (anime-offline-database),
    -- listed by two providers or more instead.
    ranked     boolean GENERATED ALWAYS AS
                   (score IS NOT NULL AND (members >= 1000 OR (members IS NULL AND providers >= 2))) STORED,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id)
);

-- One index per sort, matching the ORDER BY of postgres/sorts.go exactly,
-- for listings with filters; the ranking and listings without filters or
-- by type alone read catalog_order below.
CREATE INDEX anime_popularity_idx ON anime (members DESC NULLS LAST, providers DESC, score DESC NULLS LAST, id);
CREATE INDEX anime_score_idx ON anime (score DESC NULLS LAST, id);
-- Code point order: the same on every server whatever its locale, and LIKE
-- 'prefix%' can use it.
CREATE INDEX anime_title_idx ON anime ((lower(title) COLLATE "C"), id);
CREATE INDEX anime_episodes_idx ON anime (episodes DESC NULLS LAST, id);
CREATE INDEX anime_type_idx ON anime (type);
CREATE INDEX anime_title_trgm_idx ON anime USING gin (title gin_trgm_ops);

CREATE TABLE genres (
    id         serial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    titles     integer NOT NULL DEFAULT 0, -- non-adult titles, kept by imports
    titles_all integer NOT NULL DEFAULT 0  -- all titles
);

CREATE TABLE anime_genres (
    anime_id bigint NOT NULL REFERENCES anime (id) ON DELETE CASCADE,
    genre_id integer NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
    PRIMARY KEY (anime_id, genre_id)
);
CREATE INDEX anime_genres_genre_idx ON anime_genres (genre_id, anime_id);

-- One row: the version that cache keys carry.
CREATE TABLE catalog (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    has_members boolean NOT NULL DEFAULT false -- popularity by members, or by providers
);
INSERT INTO catalog DEFAULT VALUES;

-- Every listing without filters or with one filter on type or genre, in
-- every order, as ids in chunks of a fixed size, rebuilt by each import
-- that changes something. Page N of such a listing is then one primary-key
-- lookup whatever N is, instead of an OFFSET that walks a million index
-- entries. Chunks (not one row per title) keep it to some thousands of
-- rows for a million titles, cheap to rebuild.
CREATE TABLE catalog_order (
    sort       text NOT NULL,    -- popularity, score, title, episodes, ranking
    filter     text NOT NULL,    -- '' for all titles, 'type:TV', 'genre:Drama'
    with_adult boolean NOT NULL, -- the order of all titles, or of non-adult ones
    chunk      integer NOT NULL, -- holds positions chunk*size+1 .. chunk*size+size
    ids        bigint[] NOT NULL,
    PRIMARY KEY (sort, filter, with_adult, chunk)
);
