package handlers

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

// genreTTL is how long the genre list is reused. Genres change only with
// an import, and a genre unknown to the copy makes it reload (at most once
// every genreReloadGap), so a copy costs at most a few seconds of a new
// genre missing from the form.
const (
	genreTTL       = 30 * time.Second
	genreReloadGap = 5 * time.Second
)

// genreList keeps the catalog's genres in memory: every full catalog page
// shows them in its filter form, and a cached page should not need
// PostgreSQL for them. The query runs outside the lock, once at a time.
type genreList struct {
	mu      sync.Mutex
	set     genreSet
	fetched time.Time
	flight  singleflight.Group
}

// genreSet is one reading of the genre list.
type genreSet struct {
	genres  []anigo.Genre
	options views.GenreOptions // the form's options, rendered once per list
	// gen counts the readings, so that pages assembled with an older
	// list's options are known for old (see pageMemo).
	gen uint64
}

func (l *genreList) cached() (genreSet, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set, l.fetched
}

// get returns the genres, from memory while they are younger than
// genreTTL; fresh asks for a reload, which happens only when the copy is
// older than genreReloadGap, so that junk genres cannot make every request
// query the database.
func (l *genreList) get(ctx context.Context, store Store, fresh bool) (genreSet, error) {
	set, fetched := l.cached()
	age := time.Since(fetched)
	if set.genres != nil && (age < genreTTL && !fresh || age < genreReloadGap) {
		return set, nil
	}
	_, err, _ := l.flight.Do("genres", func() (any, error) {
		// Shared by every waiting request: not cancelled with the first.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
		defer cancel()
		list, err := store.Genres(ctx)
		if err != nil {
			return nil, err
		}
		opts, err := views.NewGenreOptions(list)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.set = genreSet{genres: list, options: opts, gen: l.set.gen + 1}
		l.fetched = time.Now()
		l.mu.Unlock()
		return nil, nil
	})
	if set, _ := l.cached(); set.genres != nil {
		return set, nil // a new list, or an old one that beats an error while PostgreSQL is away
	}
	return genreSet{}, err
}

// genresFor returns the genre list and genre's canonical spelling, found
// without regard to case so that "action" and "Action" share a cache key.
// An unknown genre is an EINVALID error, after one reload in case the
// catalog has gained it since the list was read.
func (h *handler) genresFor(ctx context.Context, genre string) (genreSet, string, error) {
	set, err := h.genres.get(ctx, h.store, false)
	if err != nil || genre == "" {
		return set, "", err
	}
	name, ok := findGenre(set.genres, genre)
	if !ok {
		if set, err = h.genres.get(ctx, h.store, true); err != nil {
			return set, "", err
		}
		if name, ok = findGenre(set.genres, genre); !ok {
			return set, "", anigo.Errorf(anigo.EINVALID, "Unknown genre %q: pick one from the list.", genre)
		}
	}
	return set, name, nil
}

func findGenre(genres []anigo.Genre, genre string) (string, bool) {
	for _, g := range genres {
		if strings.EqualFold(g.Name, genre) {
			return g.Name, true
		}
	}
	return "", false
}
