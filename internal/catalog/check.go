package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrDamaged is wrapped by Check's error when SQLite finds the database
// file damaged.
var ErrDamaged = errors.New("catalog database is damaged")

// Check runs SQLite's integrity check: PRAGMA quick_check when !full
// (structure of every page, no index cross-check; a fraction of a second per
// 100 MB), PRAGMA integrity_check when full. A damaged database, or one
// SQLite cannot read as one ("malformed", "not a database"), gives an error
// wrapping ErrDamaged listing the first problems.
func (c *Catalog) Check(ctx context.Context, full bool) error {
	pragma := "quick_check"
	if full {
		pragma = "integrity_check"
	}
	rows, err := c.db.QueryContext(ctx, "PRAGMA "+pragma+"(20)")
	if err != nil {
		return c.damaged(pragma, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return c.damaged(pragma, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return c.damaged(pragma, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("catalog %s: %w (%s): %s", c.path, ErrDamaged, pragma, strings.Join(problems, "; "))
	}
	return nil
}

func (c *Catalog) damaged(pragma string, err error) error {
	s := err.Error()
	if strings.Contains(s, "malformed") || strings.Contains(s, "not a database") || strings.Contains(s, "corrupt") {
		return fmt.Errorf("catalog %s: %w (%s): %v", c.path, ErrDamaged, pragma, err)
	}
	return fmt.Errorf("catalog %s: %s: %w", c.path, pragma, err)
}

// OpenReadOnly opens an existing catalog without writing to it or its
// directory: for commands that only read (search, stats, serve...). A
// library on a read-only file system or in a directory the user cannot write
// opens as an immutable database (no locking: nobody can write it there).
func OpenReadOnly(ctx context.Context, path string) (*Catalog, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("catalog %s: path must not contain '?'", path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	u := (&url.URL{Scheme: "file", Path: path}).String()
	base := u + "?mode=ro&_pragma=busy_timeout(30000)&_pragma=foreign_keys(1)"
	c, err := openRO(ctx, path, base)
	if err == nil {
		return c, nil
	}
	// WAL readers need to create the -shm file; where they cannot, the
	// database can only be read as immutable, which is safe only where
	// nobody can write it meanwhile.
	if may, merr := mayBeWritten(path); may {
		why := "its owner can write it and may be indexing it now"
		if merr != nil {
			why = merr.Error()
		}
		return nil, fmt.Errorf("catalog %s: cannot be read safely: SQLite needs to create %s-shm in a folder you cannot write, and %s (%v); run as the library's owner, make the library read-only for everyone (chmod a-w), or copy it", path, filepath.Base(path), why, err)
	}
	c, err2 := openRO(ctx, path, base+"&immutable=1")
	if err2 != nil {
		return nil, fmt.Errorf("catalog %s: open read-only: %w", path, err)
	}
	return c, nil
}

func openRO(ctx context.Context, path, dsn string) (*Catalog, error) {
	db, err := sqlOpen(dsn)
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	c := &Catalog{db: db, path: path}
	v, err := c.schemaVersion(ctx)
	if err == nil && v > len(migrations) {
		err = fmt.Errorf("catalog %s: schema version %d is newer than this facesearch knows (%d): upgrade facesearch", path, v, len(migrations))
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func sqlOpen(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) }
