// Package anigo holds AniGo's domain: the types every other package speaks
// (Anime, ListQuery, RankQuery, ...), its domain errors, and the embedded
// static assets. It imports the standard library only.
package anigo

import "embed"

//go:generate go tool templ generate

// StaticFS holds static/: the hand-written stylesheet and scripts, plus the
// htmx build that `make` copies from node_modules (never committed).
//
//go:embed static
var StaticFS embed.FS
