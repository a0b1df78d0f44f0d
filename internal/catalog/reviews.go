package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Review decisions.
const (
	// Dismissed: a reviewer said the finding is not a problem.
	Dismissed = "dismissed"
)

// Review is a reviewer's decision on one cleansing finding, shared by the
// command line and the web page.
type Review struct {
	Key      string // the finding's key (cleanse.FindingKey)
	Decision string // Dismissed
	At       time.Time
}

// Reviews returns the recorded decisions by finding key.
func (c *Catalog) Reviews(ctx context.Context) (map[string]Review, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT key, decision, decided_at FROM reviews`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return c.legacyReviews(ctx) // an unmigrated catalog opened read-only
		}
		return nil, fmt.Errorf("catalog: reviews: %w", err)
	}
	defer rows.Close()
	out := map[string]Review{}
	for rows.Next() {
		var r Review
		var ms int64
		if err := rows.Scan(&r.Key, &r.Decision, &ms); err != nil {
			return nil, fmt.Errorf("catalog: reviews: %w", err)
		}
		r.At = time.UnixMilli(ms).UTC()
		out[r.Key] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: reviews: %w", err)
	}
	return out, nil
}

// legacyReviews reads the dismissed keys of a catalog of schema version 1.
func (c *Catalog) legacyReviews(ctx context.Context) (map[string]Review, error) {
	out := map[string]Review{}
	v, ok, err := c.Setting(ctx, legacyDismissed)
	if err != nil || !ok {
		return out, err
	}
	var keys []string
	if err := json.Unmarshal([]byte(v), &keys); err != nil {
		return nil, fmt.Errorf("catalog: setting %s: %w", legacyDismissed, err)
	}
	for _, k := range keys {
		out[k] = Review{Key: k, Decision: Dismissed}
	}
	return out, nil
}

// SetReview records decision for the finding key; an empty decision removes
// the key's decision.
func (c *Catalog) SetReview(ctx context.Context, key, decision string) error {
	if key == "" {
		return fmt.Errorf("catalog: review: empty finding key")
	}
	var err error
	switch decision {
	case "":
		_, err = c.db.ExecContext(ctx, `DELETE FROM reviews WHERE key=?`, key)
	case Dismissed:
		_, err = c.db.ExecContext(ctx, `INSERT INTO reviews(key, decision, decided_at) VALUES(?,?,?)
			ON CONFLICT(key) DO UPDATE SET decision=excluded.decision, decided_at=excluded.decided_at`,
			key, decision, time.Now().UnixMilli())
	default:
		return fmt.Errorf("catalog: review of %s: unknown decision %q", key, decision)
	}
	if err != nil {
		return fmt.Errorf("catalog: review of %s: %w", key, err)
	}
	return nil
}
