package anigo

// ImportRecord is one title read from a catalog file, with where it was
// found so that the importer can report problems by line.
type ImportRecord struct {
	Anime Anime
	Line  int64 // line (CSV, JSON Lines) or record number (JSON) in the file
}

// ImportSkip is a malformed record that an import left out, and why.
type ImportSkip struct {
	Line   int64
	Reason string
}

// ImportSummary is what an import did to the catalog.
type ImportSummary struct {
	Read      int   // records received, duplicates included
	Inserted  int   // new titles
	Updated   int   // titles whose data changed
	Unchanged int   // titles already exactly as imported
	Version   int64 // catalog version after the import
}

// Changed reports whether the import changed the catalog (and so bumped
// its version).
func (s ImportSummary) Changed() bool { return s.Inserted+s.Updated > 0 }
