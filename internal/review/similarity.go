package review

import "github.com/facesearch/facesearch/internal/server"

// SearchSimilarity implements server.SearchSimilarity: the page and API
// search in the library's similarity ("raw" or "adapted:<id>").
func (b *Backend) SearchSimilarity() string { return b.search.Similarity() }

// CleanseSimilarity implements server.CleanseSimilarity: the server's
// findings, pairs and look-alikes compare raw vectors (docs/ADAPTATION.md,
// "Cleansing and the adapted similarity": the adapted similarity was
// measured to add false merges and hide outliers).
func (b *Backend) CleanseSimilarity() string { return server.SimilarityRaw }
