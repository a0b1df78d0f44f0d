package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A migration brings the catalog schema from one version (PRAGMA
// user_version) to the next. Migrations run in order, each in its own
// transaction with the version bump, so a catalog is never left between two
// versions; a catalog made before versioning existed has user_version 0.
type migration struct {
	name string
	up   func(ctx context.Context, tx *sql.Tx) error
}

// migrations[i] takes a catalog from version i to i+1. Append only: never
// edit or reorder a released step.
var migrations = []migration{
	{"tables of the first release", func(ctx context.Context, tx *sql.Tx) error {
		// IF NOT EXISTS: catalogs made before versioning already have them.
		_, err := tx.ExecContext(ctx, schema)
		return err
	}},
	{"review decisions table (replaces the dismissed_findings setting)", migrateReviews},
}

// SchemaVersion is the catalog schema version this build writes.
var SchemaVersion = len(migrations)

// legacyDismissed is the settings row that held dismissed finding keys (a
// JSON list) before the reviews table.
const legacyDismissed = "dismissed_findings"

func migrateReviews(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE reviews(
	key        TEXT PRIMARY KEY,
	decision   TEXT NOT NULL CHECK(decision IN ('dismissed')),
	decided_at INTEGER NOT NULL -- Unix milliseconds
)`); err != nil {
		return err
	}
	// Keys dismissed in the web page before: one JSON list in a setting.
	// A value that is not a JSON list of strings is kept as it was.
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key=?`, legacyDismissed).Scan(&v)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return err
	}
	// CASE, not AND: SQLite evaluates json_type even when json_valid is 0,
	// and json_type fails on malformed JSON (which would make the library
	// impossible to open).
	var ok int
	if err := tx.QueryRowContext(ctx, `SELECT CASE WHEN json_valid(?) THEN json_type(?)='array' ELSE 0 END`, v, v).Scan(&ok); err != nil || ok != 1 {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO reviews(key, decision, decided_at)
		SELECT value, 'dismissed', ? FROM json_each(?) WHERE type='text' AND value<>''`, time.Now().UnixMilli(), v); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM settings WHERE key=?`, legacyDismissed)
	return err
}

// migrate brings the catalog to SchemaVersion. A catalog of a newer version
// (made by a later facesearch) is refused rather than guessed at.
func (c *Catalog) migrate(ctx context.Context) error {
	v, err := c.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this facesearch knows (%d): upgrade facesearch", v, len(migrations))
	}
	for v < len(migrations) {
		tx, err := c.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): one migrator at a time
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		// Another process may have migrated while this one waited.
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate: %w", err)
		}
		if v >= len(migrations) {
			tx.Rollback()
			break
		}
		m := migrations[v]
		if err := m.up(ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d (%s): %w", v+1, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", v+1, m.name, err)
		}
		v++
	}
	return nil
}

func (c *Catalog) schemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := c.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// SchemaVersion returns the catalog's schema version (PRAGMA user_version).
func (c *Catalog) SchemaVersion(ctx context.Context) (int, error) { return c.schemaVersion(ctx) }
