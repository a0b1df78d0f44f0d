package server

// SimilarityRaw is the similarity name of the raw cosine of the model's
// embeddings ("adapted:<id>" names a similarity learned from the library's
// folders, docs/ADAPTATION.md).
const SimilarityRaw = "raw"

// SearchSimilarity is implemented by a Searcher that can name the
// similarity its scores are in; the search response reports it.
type SearchSimilarity interface {
	SearchSimilarity() string
}

// CleanseSimilarity is implemented by a Cleanser (or Lookalikes source) that
// can name the similarity its findings, pairs and look-alikes are in.
type CleanseSimilarity interface {
	CleanseSimilarity() string
}

// searchSimilarity names the similarity of s.opt.Searcher's scores.
func (s *Server) searchSimilarity() string {
	if n, ok := s.opt.Searcher.(SearchSimilarity); ok && n.SearchSimilarity() != "" {
		return n.SearchSimilarity()
	}
	return SimilarityRaw
}

// cleanseSimilarity names the similarity of x's cleansing results.
func cleanseSimilarity(x any) string {
	if n, ok := x.(CleanseSimilarity); ok && n.CleanseSimilarity() != "" {
		return n.CleanseSimilarity()
	}
	return SimilarityRaw
}
