package handlers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/anigo/anigo"
	"github.com/anigo/anigo/views"
)

// genreTTL is how long the genre list is reused. Genres change only with
// an import, and a genre unknown to the copy makes it reload at once, so a
// copy costs at most a few seconds of a new genre missing from the form.
const genreTTL = 30 * time.Second

// genreList keeps the catalog's genres in memory: every full catalog page
// shows them in its filter form, and a cached page should not need
// PostgreSQL for them.
type genreList struct {
	mu      sync.Mutex
	genres  []anigo.Genre
	options views.GenreOptions // the form's options, rendered once per list
	fetched time.Time
}

// get returns the genres, from memory while they are younger than
// genreTTL unless fresh is set.
func (l *genreList) get(ctx context.Context, store Store, fresh bool) ([]anigo.Genre, views.GenreOptions, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !fresh && l.genres != nil && time.Since(l.fetched) < genreTTL {
		return l.genres, l.options, nil
	}
	genres, err := store.Genres(ctx)
	if err == nil {
		var options views.GenreOptions
		if options, err = views.NewGenreOptions(genres); err == nil {
			l.genres, l.options, l.fetched = genres, options, time.Now()
			return genres, options, nil
		}
	}
	if l.genres != nil {
		return l.genres, l.options, nil // an old list beats an error while PostgreSQL is away
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
