package review

import "github.com/facesearch/facesearch/internal/server"

// The server finds a backend's optional abilities by type assertion; these
// pin them at compile time, so that a drifting method signature fails the
// build instead of sending photo searches down the server's generic path
// (detector + vector search) or dropping verdicts, labels or the cleansing
// panel without a word.
var (
	_ server.Detector          = (*Backend)(nil)
	_ server.Searcher          = (*Backend)(nil)
	_ server.JudgedSearcher    = (*Backend)(nil)
	_ server.PhotoSearcher     = (*Backend)(nil)
	_ server.Catalog           = (*Backend)(nil)
	_ server.Cleanser          = (*Backend)(nil)
	_ server.LookalikeFinder   = (*Backend)(nil)
	_ server.SearchSimilarity  = (*Backend)(nil)
	_ server.CleanseSimilarity = (*Backend)(nil)
)
