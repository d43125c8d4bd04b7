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
	genres  []anigo.Genre
	options views.GenreOptions // the form's options, rendered once per list
	fetched time.Time
	flight  singleflight.Group
}

func (l *genreList) cached() ([]anigo.Genre, views.GenreOptions, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.genres, l.options, l.fetched
}

// get returns the genres, from memory while they are younger than
// genreTTL; fresh asks for a reload, which happens only when the copy is
// older than genreReloadGap, so that junk genres cannot make every request
// query the database.
func (l *genreList) get(ctx context.Context, store Store, fresh bool) ([]anigo.Genre, views.GenreOptions, error) {
	genres, options, fetched := l.cached()
	age := time.Since(fetched)
	if genres != nil && (age < genreTTL && !fresh || age < genreReloadGap) {
		return genres, options, nil
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
		l.genres, l.options, l.fetched = list, opts, time.Now()
		l.mu.Unlock()
		return nil, nil
	})
	if g, o, _ := l.cached(); g != nil {
		return g, o, nil // a new list, or an old one that beats an error while PostgreSQL is away
	}
	return nil, views.GenreOptions{}, err
}

// genresFor returns the genre filter's options and genre's canonical spelling, found
// without regard to case so that "action" and "Action" share a cache key.
// An unknown genre is an EINVALID error, after one reload in case the
// catalog has gained it since the list was read.
func (h *handler) genresFor(ctx context.Context, genre string) (views.GenreOptions, string, error) {
	genres, options, err := h.genres.get(ctx, h.store, false)
	if err != nil {
		return options, "", err
	}
	if genre == "" {
		return options, "", nil
	}
	name, ok := findGenre(genres, genre)
	if !ok {
		if genres, options, err = h.genres.get(ctx, h.store, true); err != nil {
			return options, "", err
		}
		if name, ok = findGenre(genres, genre); !ok {
			return options, "", anigo.Errorf(anigo.EINVALID, "Unknown genre %q: pick one from the list.", genre)
		}
	}
	return options, name, nil
}

func findGenre(genres []anigo.Genre, genre string) (string, bool) {
	for _, g := range genres {
		if strings.EqualFold(g.Name, genre) {
			return g.Name, true
		}
	}
	return "", false
}
