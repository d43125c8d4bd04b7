package cache

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// sampleHTML builds a catalog grid fragment like the site renders: n cards
// of roughly 800 bytes, about 20 kB for n = 24.
func sampleHTML(n int) []byte {
	genres := []string{"Action", "Adventure", "Comedy", "Drama", "Fantasy", "Romance", "Sci-Fi", "Slice of Life"}
	types := []string{"TV", "Movie", "OVA", "ONA", "Special"}
	words := strings.Fields("sword moon girl academy dragon spring summer kingdom night star blue red shadow " +
		"hero demon lord cafe idol magic boy detective school sky ocean ghost island winter promise")
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same fragment every run
	title := func() string {
		t := make([]string, 2+rng.IntN(5))
		for i := range t {
			t[i] = words[rng.IntN(len(words))]
		}
		return strings.Join(t, " ")
	}
	var b strings.Builder
	b.WriteString(`<section id="catalog" class="grid" hx-target="this" hx-swap="outerHTML" data-testid="catalog">` + "\n")
	for i := range n {
		id := 1000 + i*37
		fmt.Fprintf(&b, `<article class="card" data-testid="anime-card" data-id="%d">
  <a href="/anime/%d/t-%d" hx-get="/anime/%d/t-%d" hx-push-url="true" class="card-link">
    <h3 class="card-title">%s (%d)</h3><p class="alt">%s</p>
  </a>
  <ul class="card-meta">
    <li class="type">%s</li><li class="episodes">%d episodes</li><li class="score" title="mean score">%.2f</li>
    <li class="members">%d members</li>
  </ul>
  <ul class="genres">`, id, id, i, id, i, title(), 1990+rng.IntN(30), title(), types[i%len(types)], 1+rng.IntN(60), 5+rng.Float64()*4, rng.IntN(1_000_000))
		for j := range 3 {
			g := genres[(i+j*5)%len(genres)]
			fmt.Fprintf(&b, `<li><a href="/anime?genre=%s" hx-get="/anime?genre=%s" hx-push-url="true">%s</a></li>`, g, g, g)
		}
		b.WriteString("</ul>\n</article>\n")
	}
	b.WriteString(`<nav class="pager"><a href="/anime?page=2" hx-get="/anime?page=2" hx-push-url="true" rel="next">Next</a></nav></section>`)
	return []byte(b.String())
}
