package anigo

import "time"

// Sources: where a title's stable id comes from. A title is upserted by
// (Source, SourceID).
const (
	SourceMAL = "myanimelist" // anime_id of the Kaggle CSV, or a myanimelist.net URL in anime-offline-database
)

// Types are the title types AniGo knows, in display order. Imports map
// each format's spelling onto these (anime-offline-database's MOVIE becomes
// Movie, an empty CSV type becomes Unknown).
var Types = []string{"TV", "Movie", "OVA", "ONA", "Special", "Music", "Unknown"}

// Anime is one title of the catalog. Zero values mean "unknown": Episodes
// 0, Score 0, Members 0, Year 0 and empty strings are shown as absent.
type Anime struct {
	ID        int64  // AniGo's own id, used in URLs
	Source    string // provider of SourceID, e.g. SourceMAL
	SourceID  string
	SourceURL string // the title's page at its source
	Title     string
	Type      string // one of Types
	Episodes  int
	Score     float64 // mean user score, 1 to 10
	Members   int     // users with the title in their list (CSV only)
	Providers int     // providers that list the title (anime-offline-database only)
	Adult     bool    // genre Hentai: hidden from listings unless configured
	Year      int
	Season    string // SPRING, SUMMER, FALL, WINTER
	Status    string // FINISHED, ONGOING, UPCOMING
	ImageURL  string
	ThumbURL  string
	Synopsis  string
	Genres    []string
}

// AnimeDetail is one title with what its detail page shows around it.
type AnimeDetail struct {
	Anime
	ScoreRank      int // 1-based rank by score among ranked titles; 0 when unranked
	PopularityRank int // 1-based rank by popularity; 0 when unknown
	Related        []Anime
}

// Ranked is a title with its position in the ranking by score.
type Ranked struct {
	Anime
	Rank int
}

// Genre is a genre with the number of visible titles that carry it.
type Genre struct {
	Name  string
	Count int
}

// CatalogInfo describes the catalog as a whole.
type CatalogInfo struct {
	Version    int64 // bumped by every import that changes something
	Total      int   // visible titles
	HasMembers bool  // popularity is by members (CSV); otherwise by providers, then score
	UpdatedAt  time.Time
}
