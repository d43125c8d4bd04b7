package anigo

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sort orders a catalog listing.
type Sort string

const (
	SortPopularity Sort = "popularity" // members, or providers then score
	SortScore      Sort = "score"      // highest first, unscored last
	SortTitle      Sort = "title"      // A to Z
	SortEpisodes   Sort = "episodes"   // most first, unknown last
)

// Sorts lists the sorts in display order; the first is the default.
var Sorts = []Sort{SortPopularity, SortScore, SortTitle, SortEpisodes}

// Bounds of list queries.
const (
	DefaultPerPage = 24
	MaxPerPage     = 100
	MaxPage        = 1_000_000
	MaxQueryRunes  = 100 // longer title text is cut, not refused
	MaxScore       = 10
)

// ListQuery selects one page of the catalog. Build it with ParseListQuery
// so that every field is valid and canonical.
type ListQuery struct {
	Type     string  // "" or one of Types
	Genre    string  // "" or a genre name; the handlers check it exists
	MinScore float64 // 0 (any) to 10, in steps of 0.5
	Q        string  // title text, trimmed, at most MaxQueryRunes
	Sort     Sort
	Page     int // 1-based
	PerPage  int
}

// Offset is the number of titles before the query's page.
func (q ListQuery) Offset() int { return (q.Page - 1) * q.PerPage }

// Filters returns q without its sort and page: the part a count depends on.
func (q ListQuery) Filters() ListQuery {
	return ListQuery{Type: q.Type, Genre: q.Genre, MinScore: q.MinScore, Q: q.Q}
}

// Values returns q as URL query values, leaving out defaults, so that
// equal queries give equal URLs and cache keys (url.Values.Encode sorts).
func (q ListQuery) Values() url.Values {
	v := url.Values{}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Genre != "" {
		v.Set("genre", q.Genre)
	}
	if q.MinScore > 0 {
		v.Set("min_score", strconv.FormatFloat(q.MinScore, 'f', -1, 64))
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.Sort != "" && q.Sort != Sorts[0] {
		v.Set("sort", string(q.Sort))
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != 0 && q.PerPage != DefaultPerPage {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

// Key is the canonical form of q, for cache keys.
func (q ListQuery) Key() string { return q.Values().Encode() }

// URL is the catalog URL of q.
func (q ListQuery) URL() string { return withQuery("/anime", q.Values()) }

// WithPage returns q at another page.
func (q ListQuery) WithPage(page int) ListQuery { q.Page = page; return q }

// ParseListQuery validates the catalog's query parameters, read through
// get (for example fiber's c.Query). Unknown parameters are ignored. Empty
// values mean the default. It returns an EINVALID *Error naming the
// parameter for a value that cannot be understood: a page that is not a
// whole number from 1 to MaxPage, an unknown sort or type, a min_score
// outside 0 to 10. Case is folded ("tv" is TV) and title text longer than
// MaxQueryRunes is cut.
func ParseListQuery(get func(key string) string) (ListQuery, error) {
	q := ListQuery{Sort: Sorts[0], Page: 1, PerPage: DefaultPerPage}
	var err error
	if q.Page, err = parsePage(get("page")); err != nil {
		return ListQuery{}, err
	}
	if s := strings.TrimSpace(get("per_page")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPerPage {
			return ListQuery{}, Errorf(EINVALID, "per_page must be a whole number from 1 to %d.", MaxPerPage)
		}
		q.PerPage = n
	}
	if s := strings.ToLower(strings.TrimSpace(get("sort"))); s != "" {
		if !slices.Contains(Sorts, Sort(s)) {
			return ListQuery{}, Errorf(EINVALID, "Unknown sort %q: use popularity, score, title or episodes.", clip(s, 40))
		}
		q.Sort = Sort(s)
	}
	if q.Type, err = ParseType(get("type")); err != nil {
		return ListQuery{}, err
	}
	q.Genre = strings.TrimSpace(clip(strings.TrimSpace(get("genre")), 60))
	if s := strings.TrimSpace(get("min_score")); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > MaxScore || f != f {
			return ListQuery{}, Errorf(EINVALID, "min_score must be a number from 0 to 10.")
		}
		q.MinScore = float64(int(f*2)) / 2 // steps of 0.5 keep cache keys few
	}
	q.Q = NormalizeText(get("q"))
	return q, nil
}

// RankQuery selects one page of the ranking by score.
type RankQuery struct {
	Type    string // "" or one of Types
	Page    int    // 1-based
	PerPage int
}

// Offset is the number of titles before the query's page.
func (q RankQuery) Offset() int { return (q.Page - 1) * q.PerPage }

// Values returns q as URL query values, leaving out defaults.
func (q RankQuery) Values() url.Values {
	v := url.Values{}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != 0 && q.PerPage != DefaultPerPage {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

// Key is the canonical form of q, for cache keys.
func (q RankQuery) Key() string { return q.Values().Encode() }

// URL is the ranking URL of q.
func (q RankQuery) URL() string { return withQuery("/top", q.Values()) }

// WithPage returns q at another page.
func (q RankQuery) WithPage(page int) RankQuery { q.Page = page; return q }

// ParseRankQuery validates the ranking's query parameters (page, type) like
// ParseListQuery does, with the same errors.
func ParseRankQuery(get func(key string) string) (RankQuery, error) {
	q := RankQuery{Page: 1, PerPage: DefaultPerPage}
	var err error
	if q.Page, err = parsePage(get("page")); err != nil {
		return RankQuery{}, err
	}
	if q.Type, err = ParseType(get("type")); err != nil {
		return RankQuery{}, err
	}
	return q, nil
}

// ParseType returns the canonical spelling of a title type ("tv" gives
// "TV"), "" for an empty string, and an EINVALID *Error for an unknown type.
func ParseType(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	for _, t := range Types {
		if strings.EqualFold(s, t) {
			return t, nil
		}
	}
	return "", Errorf(EINVALID, "Unknown type %q: use one of %s.", clip(s, 40), strings.Join(Types, ", "))
}

// NormalizeText trims s, folds runs of white space into one space, drops
// control characters and invalid UTF-8, and cuts it to MaxQueryRunes.
func NormalizeText(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r < 0x20 || r == 0x7f || r == '\u00a0' || r == '\u3000' || (r >= 0x80 && r < 0xa0)
	}), " ")
	return strings.TrimSpace(clip(s, MaxQueryRunes))
}

func parsePage(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPage {
		return 0, Errorf(EINVALID, "page must be a whole number from 1 to %d.", MaxPage)
	}
	return n, nil
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
