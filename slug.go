package anigo

import (
	"strconv"
	"strings"
	"unicode"
)

// Slug returns the URL slug of a title: lower-case ASCII letters and digits
// joined by single dashes, at most 60 characters ("Kimi no Na wa." gives
// "kimi-no-na-wa"). Titles without any such character give "".
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// Path is the canonical URL of a title's detail page: /anime/<id>-<slug>.
func (a Anime) Path() string {
	p := "/anime/" + strconv.FormatInt(a.ID, 10)
	if s := Slug(a.Title); s != "" {
		p += "-" + s
	}
	return p
}
