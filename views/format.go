package views

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/anigo/anigo"
)

// Number formats n for people: 1013917 gives "1,013,917".
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Score formats a mean score with two decimals ("9.37"), or "–" when unknown.
func Score(s float64) string {
	if s <= 0 {
		return "–"
	}
	return strconv.FormatFloat(s, 'f', 2, 64)
}

// Initials are the first letters or digits of a title's first two words:
// "Kimi no Na wa." gives "KN".
func Initials(title string) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(title) {
		i := strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		if i < 0 {
			continue
		}
		r, _ := utf8.DecodeRuneInString(w[i:])
		b.WriteRune(unicode.ToUpper(r))
		if n++; n == 2 {
			break
		}
	}
	if n == 0 {
		return "?"
	}
	return b.String()
}

// posterClasses picks a placeholder's colours from its id: one of 12 hues and
// one of 4 offsets for the gradient's second hue. The multiplicative hash
// spreads neighbouring ids apart, so a page of ids 1..24 is not a rainbow.
func posterClasses(id int64) string {
	h := uint32(id) * 2654435761
	return "poster-art hue-" + strconv.Itoa(int(h>>8%12)) + " mix-" + strconv.Itoa(int(h>>16%4))
}

func episodes(n int) string {
	switch n {
	case 0:
		return "? eps"
	case 1:
		return "1 ep"
	default:
		return Number(n) + " eps"
	}
}

func typeLabel(t string) string {
	if t == "" {
		return "Unknown"
	}
	return t
}

// popularity is the popularity figure of a title, whichever the source has.
func popularity(a anigo.Anime) string {
	switch {
	case a.Members > 0:
		return Number(a.Members) + " members"
	case a.Providers == 1:
		return "1 provider"
	case a.Providers > 1:
		return Number(a.Providers) + " providers"
	default:
		return ""
	}
}

func sourceName(a anigo.Anime) string {
	if a.Source == anigo.SourceMAL {
		return "MyAnimeList"
	}
	return "the source page"
}

// scoreOptions are the minimum scores the filter offers, plus the current one
// when a URL asked for another step.
func scoreOptions(current float64) []float64 {
	opts := []float64{5, 6, 7, 7.5, 8, 8.5, 9}
	for i, o := range opts {
		if o == current {
			return opts
		}
		if o > current && current > 0 {
			return append(opts[:i:i], append([]float64{current}, opts[i:]...)...)
		}
	}
	if current > 0 {
		opts = append(opts, current)
	}
	return opts
}

func scoreValue(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func itoa(n int) string { return strconv.Itoa(n) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// posterURL is the image a poster shows: the thumbnail in cards, the full
// picture on a detail page; "" when the title has none.
func posterURL(a anigo.Anime, large bool) string {
	if !large && a.ThumbURL != "" {
		return a.ThumbURL
	}
	return a.ImageURL
}

// LastPage is the number of the last page of total items, at least 1.
func LastPage(total, perPage int) int {
	if perPage < 1 || total <= perPage {
		return 1
	}
	return (total + perPage - 1) / perPage
}

func sortLabel(s anigo.Sort) string {
	switch s {
	case anigo.SortPopularity:
		return "Popularity"
	case anigo.SortScore:
		return "Score"
	case anigo.SortTitle:
		return "Title (A–Z)"
	case anigo.SortEpisodes:
		return "Episodes"
	default:
		return string(s)
	}
}

func rank(n int) string {
	if n <= 0 {
		return "–"
	}
	return "#" + Number(n)
}

// title turns an upper-case code such as FINISHED into "Finished".
func title(s string) string {
	if s == "" {
		return s
	}
	return s[:1] + strings.ToLower(s[1:])
}

func season(s string, year int) string {
	if s == "" || s == "UNDEFINED" {
		return strconv.Itoa(year)
	}
	return title(s) + " " + strconv.Itoa(year)
}

func queryEscape(s string) string { return url.QueryEscape(s) }

// ErrorHeading is the heading of an error page for status.
func ErrorHeading(status int) string {
	switch {
	case status == 404:
		return "Page not found"
	case status == 503:
		return "Temporarily unavailable"
	case status >= 500:
		return "Something went wrong"
	default:
		return "That request did not work"
	}
}
