package catalog

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// schemaV0 is the catalog schema of facesearch before schema versioning
// (main at 95e5dc7): no user_version, dismissals as a JSON settings row.
const schemaV0 = `
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS persons(id INTEGER PRIMARY KEY, name BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS images(
	id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, person_id INTEGER NOT NULL REFERENCES persons(id),
	size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 BLOB, width INTEGER NOT NULL DEFAULT 0,
	height INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS images_person ON images(person_id);
CREATE INDEX IF NOT EXISTS images_sha256 ON images(sha256);
CREATE TABLE IF NOT EXISTS faces(
	id INTEGER PRIMARY KEY AUTOINCREMENT, image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	ord INTEGER NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
	score REAL NOT NULL, landmarks BLOB, is_primary INTEGER NOT NULL, embedding BLOB NOT NULL,
	model TEXT NOT NULL, crop BLOB);
CREATE INDEX IF NOT EXISTS faces_image ON faces(image_id);
INSERT INTO settings VALUES('generation','3'),('dismissed_findings','["outlier-0a1b2c3d4e5f","misfiled-a1b2c3d4e5f6"]');
INSERT INTO persons VALUES(1, CAST('alice' AS BLOB));
INSERT INTO images(id,path,person_id,size,mtime_ns,status) VALUES(1, CAST('alice/1.jpg' AS BLOB), 1, 10, 20, 'ok');
INSERT INTO faces(image_id,ord,x1,y1,x2,y2,score,is_primary,embedding,model) VALUES(1,0,0,0,1,1,0.9,1,x'0000803f','m');
`

// TestMigrateOldCatalog: a catalog made before schema versioning opens in
// place, migrates to the current version with its data and dismissals, and
// opens again without change.
func TestMigrateOldCatalog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaV0); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for round := range 2 {
		c, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		if v, err := c.SchemaVersion(ctx); err != nil || v != SchemaVersion || v < 2 {
			t.Errorf("round %d: schema version %d (%v), want %d", round, v, err, SchemaVersion)
		}
		rs, err := c.Reviews(ctx)
		if err != nil || len(rs) != 2 || rs["outlier-0a1b2c3d4e5f"].Decision != Dismissed || rs["misfiled-a1b2c3d4e5f6"].At.IsZero() {
			t.Errorf("round %d: reviews %+v (%v), want the two old dismissals", round, rs, err)
		}
		if _, ok, _ := c.Setting(ctx, legacyDismissed); ok {
			t.Errorf("round %d: the old dismissals setting is still there", round)
		}
		ims, err := c.Images(ctx, false)
		if err != nil || len(ims) != 1 || ims[0].Path != "alice/1.jpg" || len(ims[0].Faces) != 1 {
			t.Errorf("round %d: images %+v (%v)", round, ims, err)
		}
		if g, err := c.Generation(ctx); err != nil || g != 3 {
			t.Errorf("round %d: generation %d (%v)", round, g, err)
		}
		c.Close()
	}
}

func TestReviews(t *testing.T) {
	ctx := context.Background()
	c := openTemp(t)
	if err := c.SetReview(ctx, "k1", Dismissed); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReview(ctx, "k1", Dismissed); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := c.SetReview(ctx, "k2", "maybe"); err == nil {
		t.Error("unknown decision accepted")
	}
	if err := c.SetReview(ctx, "", Dismissed); err == nil {
		t.Error("empty key accepted")
	}
	if rs, err := c.Reviews(ctx); err != nil || len(rs) != 1 || rs["k1"].Decision != Dismissed {
		t.Errorf("reviews %+v (%v)", rs, err)
	}
	if err := c.SetReview(ctx, "k1", ""); err != nil {
		t.Fatal(err)
	}
	if rs, err := c.Reviews(ctx); err != nil || len(rs) != 0 {
		t.Errorf("after undo: %+v (%v)", rs, err)
	}
}

// TestNewerSchemaRefused: a catalog of a later facesearch is not opened.
func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if c, err := Open(ctx, path); err == nil {
		c.Close()
		t.Fatal("opened a catalog of schema version 999")
	}
}

// TestMigrateOddDismissals: an old dismissals setting that is not a JSON list
// of strings never stops the library from opening; a malformed value is kept
// as it was, and only the text entries of a mixed list move.
func TestMigrateOddDismissals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, value string
		keys        []string // reviews after the migration
		kept        bool     // the setting is left in place
	}{
		{"not json", `not json`, nil, true},
		{"object", `{"a":1}`, nil, true},
		{"empty string", ``, nil, true},
		{"mixed list", `["a",1,"",null,"b"]`, []string{"a", "b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "catalog.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(schemaV0); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE settings SET value=? WHERE key=?`, tc.value, legacyDismissed); err != nil {
				t.Fatal(err)
			}
			db.Close()
			c, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("open with dismissals %q: %v", tc.value, err)
			}
			defer c.Close()
			rs, err := c.Reviews(ctx)
			if err != nil || len(rs) != len(tc.keys) {
				t.Fatalf("reviews %+v (%v), want %v", rs, err, tc.keys)
			}
			for _, k := range tc.keys {
				if rs[k].Decision != Dismissed {
					t.Errorf("review %q missing: %+v", k, rs)
				}
			}
			v, ok, err := c.Setting(ctx, legacyDismissed)
			if err != nil || ok != tc.kept || (ok && v != tc.value) {
				t.Errorf("setting after migration %q, %v (%v); want kept=%v", v, ok, err, tc.kept)
			}
		})
	}
}
