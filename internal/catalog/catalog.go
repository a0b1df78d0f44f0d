// Package catalog is the persistent record of a face library: persons,
// images, faces (with embeddings and aligned crops) and settings, kept in a
// SQLite database (modernc.org/sqlite, pure Go, WAL mode).
//
// Paths and person names are stored as BLOBs of their raw bytes, so names
// that are not valid UTF-8 round-trip exactly. Face ids are SQLite
// AUTOINCREMENT keys: never reused, and used as the faiss ids of the index.
// Every transaction that adds or removes faces bumps a generation counter
// (setting "generation"), which tells a derived index whether it is stale.
package catalog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Image statuses.
const (
	StatusOK          = "ok"          // decoded, at least one face
	StatusNoFace      = "no_face"     // decoded, no face found
	StatusNotImage    = "not_image"   // not a decodable image
	StatusTruncated   = "truncated"   // image data cut short
	StatusTooLarge    = "too_large"   // refused: too many pixels
	StatusEmpty       = "empty"       // zero-length file
	StatusCorrupt     = "corrupt"     // invalid data in a supported format
	StatusUnsupported = "unsupported" // a format feature the decoder lacks
	StatusError       = "error"       // other error (I/O, pipeline); retried by every run
)

// Setting keys used by facesearch.
const (
	KeyGeneration = "generation"     // bumped with every face change
	KeyRoot       = "root"           // absolute dataset root
	KeyModelID    = "model_id"       // embedding model id of the faces
	KeyManifest   = "model_manifest" // the model manifest, JSON
	KeyThreshold  = "threshold"      // calibrated same-person threshold (optional)
	KeyIndex      = "index_factory"  // faiss factory string of the index
	// KeySource says how the faces were made: "npz" for 'facesearch
	// import-npz', unset for 'facesearch index'.
	KeySource = "source"
	// KeyVectors names the library's external vector store (a URL); unset:
	// the local index.
	KeyVectors = "vectors"
	// KeySimilarity chooses the similarity searches use: raw, adapted, or
	// unset (auto).
	KeySimilarity = "similarity"
)

const schema = `
CREATE TABLE IF NOT EXISTS settings(
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS persons(
	id   INTEGER PRIMARY KEY,
	name BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS images(
	id        INTEGER PRIMARY KEY,
	path      BLOB NOT NULL UNIQUE,
	person_id INTEGER NOT NULL REFERENCES persons(id),
	size      INTEGER NOT NULL,
	mtime_ns  INTEGER NOT NULL,
	sha256    BLOB,
	width     INTEGER NOT NULL DEFAULT 0,
	height    INTEGER NOT NULL DEFAULT 0,
	status    TEXT NOT NULL,
	error     TEXT NOT NULL DEFAULT '',
	model     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS images_person ON images(person_id);
CREATE INDEX IF NOT EXISTS images_sha256 ON images(sha256);
CREATE TABLE IF NOT EXISTS faces(
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
	ord       INTEGER NOT NULL,
	x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
	score     REAL NOT NULL,
	landmarks BLOB,
	is_primary INTEGER NOT NULL,
	embedding BLOB NOT NULL,
	model     TEXT NOT NULL,
	crop      BLOB
);
CREATE INDEX IF NOT EXISTS faces_image ON faces(image_id);
`

// Catalog is an open catalog database. It is safe for concurrent use.
type Catalog struct {
	db   *sql.DB
	path string
}

// Open opens (creating if needed) the catalog database at path.
func Open(ctx context.Context, path string) (*Catalog, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("catalog %s: path must not contain '?'", path)
	}
	// The driver runs the _pragma list (sorted) before the _journal_mode
	// key: page_size must come first, while a new database has no page.
	dsn := path + "?_pragma=page_size(16384)&_journal_mode=WAL&_busy_timeout=30000" +
		"&_foreign_keys=1&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	c := &Catalog{db: db, path: path}
	if err := c.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c, nil
}

// Close closes the database.
func (c *Catalog) Close() error { return c.db.Close() }

// Path returns the database file path.
func (c *Catalog) Path() string { return c.path }

// Setting returns the value of a setting and whether it is set.
func (c *Catalog) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := c.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key=?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("catalog: setting %s: %w", key, err)
	}
	return v, true, nil
}

// SetSetting sets (or, with an empty value, deletes) a setting.
func (c *Catalog) SetSetting(ctx context.Context, key, value string) error {
	var err error
	if value == "" {
		_, err = c.db.ExecContext(ctx, `DELETE FROM settings WHERE key=?`, key)
	} else {
		_, err = c.db.ExecContext(ctx, `INSERT INTO settings(key,value) VALUES(?,?)
			ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
	}
	if err != nil {
		return fmt.Errorf("catalog: set %s: %w", key, err)
	}
	return nil
}

// Generation returns the face generation counter (0 for a new catalog).
func (c *Catalog) Generation(ctx context.Context) (int64, error) {
	v, ok, err := c.Setting(ctx, KeyGeneration)
	if err != nil || !ok {
		return 0, err
	}
	g, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("catalog: generation %q: %w", v, err)
	}
	return g, nil
}

// Face is one detected face of an image.
type Face struct {
	ID        int64 // assigned by the catalog; the faiss id
	Box       [4]float32
	Score     float32
	Landmarks [][2]float32
	Primary   bool
	Embedding []float32
	Model     string
	Crop      []byte // encoded aligned crop (JPEG or PNG), may be nil
}

// Image is one file of the dataset and what indexing found in it.
type Image struct {
	ID      int64
	Path    string // relative to the dataset root, '/'-separated, raw bytes
	Person  string // first-level folder name, raw bytes
	Size    int64
	MtimeNS int64
	SHA256  []byte
	Width   int
	Height  int
	Status  string
	Error   string
	Model   string // id of the model that processed it
	Faces   []Face // in detection order
}

// ImageState is what incremental indexing needs to know of a stored image.
type ImageState struct {
	ID      int64
	Path    string
	Size    int64
	MtimeNS int64
	SHA256  []byte
	Status  string
	Model   string // id of the model that processed it
}

// ImageStates returns the state of every stored image, keyed by path.
func (c *Catalog) ImageStates(ctx context.Context) (map[string]ImageState, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT i.id, i.path, i.size, i.mtime_ns, i.sha256, i.status, i.model FROM images i`)
	if err != nil {
		return nil, fmt.Errorf("catalog: image states: %w", err)
	}
	defer rows.Close()
	m := make(map[string]ImageState)
	for rows.Next() {
		var s ImageState
		var p []byte
		if err := rows.Scan(&s.ID, &p, &s.Size, &s.MtimeNS, &s.SHA256, &s.Status, &s.Model); err != nil {
			return nil, fmt.Errorf("catalog: image states: %w", err)
		}
		s.Path = string(p)
		m[s.Path] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: image states: %w", err)
	}
	return m, nil
}

// Touch records a new size and mtime for an unchanged (same hash) file.
type Touch struct {
	Path    string
	Size    int64
	MtimeNS int64
}

// Move renames a stored image (same content found under a new path),
// keeping its faces and their ids.
type Move struct {
	From, To string
	Person   string
	Size     int64
	MtimeNS  int64
}

// Batch is a set of changes applied in one transaction.
type Batch struct {
	Put    []Image  // insert or replace (with all its faces)
	Delete []string // paths to remove with their faces
	Touch  []Touch
	Move   []Move
}

// Empty reports whether the batch holds no change.
func (b *Batch) Empty() bool {
	return len(b.Put)+len(b.Delete)+len(b.Touch)+len(b.Move) == 0
}

// EncodeVector encodes float32s as little-endian bytes.
func EncodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// DecodeVector decodes little-endian float32 bytes.
func DecodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector blob of %d bytes is not a multiple of 4", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func encodePoints(p [][2]float32) []byte {
	flat := make([]float32, 0, 2*len(p))
	for _, q := range p {
		flat = append(flat, q[0], q[1])
	}
	return EncodeVector(flat)
}

func decodePoints(b []byte) ([][2]float32, error) {
	flat, err := DecodeVector(b)
	if err != nil || len(flat)%2 != 0 {
		return nil, fmt.Errorf("landmark blob of %d bytes: malformed", len(b))
	}
	p := make([][2]float32, len(flat)/2)
	for i := range p {
		p[i] = [2]float32{flat[2*i], flat[2*i+1]}
	}
	return p, nil
}

// FaceInfo locates a face: its image, person and box.
type FaceInfo struct {
	ID      int64
	Path    string
	Person  string
	Box     [4]float32
	Score   float32
	Primary bool
}

// FacesByID returns the faces with these ids (unknown ids are absent).
func (c *Catalog) FacesByID(ctx context.Context, ids []int64) (map[int64]FaceInfo, error) {
	m := make(map[int64]FaceInfo, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := `SELECT f.id, i.path, p.name, f.x1, f.y1, f.x2, f.y2, f.score, f.is_primary
			FROM faces f JOIN images i ON i.id=f.image_id JOIN persons p ON p.id=i.person_id
			WHERE f.id IN (?` + strings.Repeat(",?", len(part)-1) + `)`
		rows, err := c.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("catalog: faces by id: %w", err)
		}
		for rows.Next() {
			var fi FaceInfo
			var path, person []byte
			if err := rows.Scan(&fi.ID, &path, &person, &fi.Box[0], &fi.Box[1], &fi.Box[2], &fi.Box[3], &fi.Score, &fi.Primary); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: faces by id: %w", err)
			}
			fi.Path, fi.Person = string(path), string(person)
			m[fi.ID] = fi
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: faces by id: %w", err)
		}
	}
	return m, nil
}

// EachEmbedding calls fn for every face, in id order.
func (c *Catalog) EachEmbedding(ctx context.Context, fn func(id int64, primary bool, emb []float32) error) error {
	rows, err := c.db.QueryContext(ctx, `SELECT id, is_primary, embedding FROM faces ORDER BY id`)
	if err != nil {
		return fmt.Errorf("catalog: embeddings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var primary bool
		var b []byte
		if err := rows.Scan(&id, &primary, &b); err != nil {
			return fmt.Errorf("catalog: embeddings: %w", err)
		}
		v, err := DecodeVector(b)
		if err != nil {
			return fmt.Errorf("catalog: embedding of face %d: %w", id, err)
		}
		if err := fn(id, primary, v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catalog: embeddings: %w", err)
	}
	return nil
}

// Crop returns the encoded aligned crop of a face (nil if none was stored).
func (c *Catalog) Crop(ctx context.Context, faceID int64) ([]byte, error) {
	var b []byte
	err := c.db.QueryRowContext(ctx, `SELECT crop FROM faces WHERE id=?`, faceID).Scan(&b)
	if err != nil {
		return nil, fmt.Errorf("catalog: crop of face %d: %w", faceID, err)
	}
	return b, nil
}

// Images returns every image with its faces (crops included only if
// withCrops), sorted by path: a canonical dump of the catalog.
func (c *Catalog) Images(ctx context.Context, withCrops bool) ([]Image, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT i.id, i.path, p.name, i.size, i.mtime_ns, i.sha256, i.width, i.height, i.status, i.error, i.model
		FROM images i JOIN persons p ON p.id=i.person_id`)
	if err != nil {
		return nil, fmt.Errorf("catalog: images: %w", err)
	}
	var ims []Image
	byID := make(map[int64]int)
	for rows.Next() {
		var im Image
		var path, person []byte
		if err := rows.Scan(&im.ID, &path, &person, &im.Size, &im.MtimeNS, &im.SHA256, &im.Width, &im.Height, &im.Status, &im.Error, &im.Model); err != nil {
			rows.Close()
			return nil, fmt.Errorf("catalog: images: %w", err)
		}
		im.Path, im.Person = string(path), string(person)
		byID[im.ID] = len(ims)
		ims = append(ims, im)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("catalog: images: %w", err)
	}
	crop := "NULL"
	if withCrops {
		crop = "crop"
	}
	rows, err = c.db.QueryContext(ctx, `SELECT id, image_id, x1, y1, x2, y2, score, landmarks, is_primary, embedding, model, `+crop+`
		FROM faces ORDER BY image_id, ord`)
	if err != nil {
		return nil, fmt.Errorf("catalog: faces: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f Face
		var imageID int64
		var lm, emb []byte
		if err := rows.Scan(&f.ID, &imageID, &f.Box[0], &f.Box[1], &f.Box[2], &f.Box[3], &f.Score, &lm, &f.Primary, &emb, &f.Model, &f.Crop); err != nil {
			return nil, fmt.Errorf("catalog: faces: %w", err)
		}
		if f.Landmarks, err = decodePoints(lm); err != nil {
			return nil, fmt.Errorf("catalog: face %d: %w", f.ID, err)
		}
		if f.Embedding, err = DecodeVector(emb); err != nil {
			return nil, fmt.Errorf("catalog: face %d: %w", f.ID, err)
		}
		i, ok := byID[imageID]
		if !ok {
			return nil, fmt.Errorf("catalog: face %d belongs to missing image %d", f.ID, imageID)
		}
		ims[i].Faces = append(ims[i].Faces, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: faces: %w", err)
	}
	sort.Slice(ims, func(a, b int) bool { return ims[a].Path < ims[b].Path })
	return ims, nil
}

// Stats summarises the catalog.
type Stats struct {
	Persons      int            // persons with at least one image
	Images       int            // all image rows
	ImagesOK     int            // images with status ok
	Faces        int            // all faces
	PrimaryFaces int            // faces marked primary
	ByStatus     map[string]int // image count per status
}

// Stats counts persons, images, faces and statuses.
func (c *Catalog) Stats(ctx context.Context) (Stats, error) {
	s := Stats{ByStatus: map[string]int{}}
	err := c.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(DISTINCT person_id) FROM images),
		(SELECT COUNT(*) FROM images),
		(SELECT COUNT(*) FROM faces),
		(SELECT COUNT(*) FROM faces WHERE is_primary)`).Scan(&s.Persons, &s.Images, &s.Faces, &s.PrimaryFaces)
	if err != nil {
		return s, fmt.Errorf("catalog: stats: %w", err)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM images GROUP BY status`)
	if err != nil {
		return s, fmt.Errorf("catalog: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return s, fmt.Errorf("catalog: stats: %w", err)
		}
		s.ByStatus[st] = n
	}
	s.ImagesOK = s.ByStatus[StatusOK]
	return s, rows.Err()
}

// FaceCount returns the number of faces. SQLite counts the rows of the small
// faces_image index rather than of the table (whose rows hold the
// embeddings), so it costs milliseconds where Stats reads the whole catalog:
// the index opener calls it on every search.
func (c *Catalog) FaceCount(ctx context.Context) (int64, error) {
	var n int64
	if err := c.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM faces`).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count faces: %w", err)
	}
	return n, nil
}

// Failure is an image that gave no face.
type Failure struct {
	Path   string
	Status string
	Error  string
}

// Failures lists the images whose status is not ok, by status then path.
func (c *Catalog) Failures(ctx context.Context) ([]Failure, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT path, status, error FROM images WHERE status<>? ORDER BY status, path`, StatusOK)
	if err != nil {
		return nil, fmt.Errorf("catalog: failures: %w", err)
	}
	defer rows.Close()
	var fs []Failure
	for rows.Next() {
		var f Failure
		var p []byte
		if err := rows.Scan(&p, &f.Status, &f.Error); err != nil {
			return nil, fmt.Errorf("catalog: failures: %w", err)
		}
		f.Path = string(p)
		fs = append(fs, f)
	}
	return fs, rows.Err()
}

// PrimaryFacesPerPerson returns each person's number of primary faces (of
// images indexed ok), reading no embedding: what a person score over a
// folder's faces needs to know how many there are.
func (c *Catalog) PrimaryFacesPerPerson(ctx context.Context) (map[string]int, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT p.name, COUNT(*) FROM faces f
JOIN images i ON i.id = f.image_id JOIN persons p ON p.id = i.person_id
WHERE f.is_primary != 0 AND i.status = ? GROUP BY p.id`, StatusOK)
	if err != nil {
		return nil, fmt.Errorf("catalog: faces per person: %w", err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var name []byte
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("catalog: faces per person: %w", err)
		}
		m[string(name)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: faces per person: %w", err)
	}
	return m, nil
}
