package catalog

import (
	"context"
	"fmt"
)

// Embedding is one face's embedding.
type Embedding struct {
	ID      int64
	Primary bool
	Vec     []float32
}

// EmbeddingsAfter returns up to limit faces with an id above after, in id
// order: a page of EachEmbedding that holds no read transaction open
// between pages (a remote sync sends each page before reading the next).
func (c *Catalog) EmbeddingsAfter(ctx context.Context, after int64, limit int) ([]Embedding, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, is_primary, embedding FROM faces WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: embeddings: %w", err)
	}
	defer rows.Close()
	var out []Embedding
	for rows.Next() {
		var e Embedding
		var b []byte
		if err := rows.Scan(&e.ID, &e.Primary, &b); err != nil {
			return nil, fmt.Errorf("catalog: embeddings: %w", err)
		}
		if e.Vec, err = DecodeVector(b); err != nil {
			return nil, fmt.Errorf("catalog: embedding of face %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: embeddings: %w", err)
	}
	return out, nil
}
