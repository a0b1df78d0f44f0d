package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Column counts of the multi-row INSERTs, and rows per INSERT statement.
const (
	imageCols     = 11 // id, path, person_id, size, mtime_ns, sha256, width, height, status, error, model
	faceCols      = 13 // id, image_id, ord, x1, y1, x2, y2, score, landmarks, is_primary, embedding, model, crop
	rowsPerInsert = 64
)

// Apply writes a batch in one transaction, assigning image and face ids
// (written back into b.Put[i].ID and b.Put[i].Faces[j].ID) and bumping the
// generation if faces changed.
//
// Statements are prepared once per transaction, and new images and faces
// are written with multi-row INSERTs: the ids are assigned here, inside the
// write transaction, following SQLite's own rules (faces: one more than the
// largest id ever used, so never reused; images: one more than the largest
// present).
func (c *Catalog) Apply(ctx context.Context, b *Batch) error {
	if b.Empty() {
		return nil
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	defer tx.Rollback()
	a := &applier{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}, persons: map[string]int64{}, pending: map[string]bool{}}
	changed := false
	for _, p := range b.Delete {
		n, err := a.deleteImage(p)
		if err != nil {
			return err
		}
		changed = changed || n > 0
	}
	for _, t := range b.Touch {
		if _, err := a.exec(`UPDATE images SET size=?, mtime_ns=? WHERE path=?`, t.Size, t.MtimeNS, []byte(t.Path)); err != nil {
			return fmt.Errorf("catalog: touch %q: %w", t.Path, err)
		}
	}
	for _, m := range b.Move {
		pid, err := a.personID(m.Person)
		if err != nil {
			return err
		}
		if _, err := a.exec(`UPDATE images SET path=?, person_id=?, size=?, mtime_ns=? WHERE path=?`,
			[]byte(m.To), pid, m.Size, m.MtimeNS, []byte(m.From)); err != nil {
			return fmt.Errorf("catalog: move %q to %q: %w", m.From, m.To, err)
		}
	}
	if err := a.lookupPuts(b.Put); err != nil {
		return err
	}
	for i := range b.Put {
		n, err := a.putImage(&b.Put[i])
		if err != nil {
			return err
		}
		changed = changed || n > 0
	}
	if err := a.flush(); err != nil {
		return err
	}
	if len(b.Delete)+len(b.Move) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM persons WHERE id NOT IN (SELECT person_id FROM images)`); err != nil {
			return fmt.Errorf("catalog: prune persons: %w", err)
		}
	}
	if changed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings(key,value) VALUES(?, '1')
			ON CONFLICT(key) DO UPDATE SET value=CAST(value AS INTEGER)+1`, KeyGeneration); err != nil {
			return fmt.Errorf("catalog: bump generation: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit: %w", err)
	}
	return nil
}

// applier is the state of one Apply transaction: its prepared statements,
// the person ids seen, the next ids to assign and the image and face rows
// not yet inserted.
type applier struct {
	ctx     context.Context
	tx      *sql.Tx
	stmts   map[string]*sql.Stmt // by query text; closed with the transaction
	persons map[string]int64     // person name → id
	// existing maps the stored paths among the Put ones to their image
	// ids (looked up all at once); a path absent from it is not stored,
	// unless pending.
	existing map[string]int64

	idsRead             bool
	nextImage, nextFace int64

	imageArgs, faceArgs []any           // pending rows, imageCols / faceCols values each
	pending             map[string]bool // paths of the pending image rows
}

// stmt returns the statement of query q, preparing it on first use.
func (a *applier) stmt(q string) (*sql.Stmt, error) {
	if s, ok := a.stmts[q]; ok {
		return s, nil
	}
	s, err := a.tx.PrepareContext(a.ctx, q)
	if err != nil {
		return nil, err
	}
	a.stmts[q] = s
	return s, nil
}

func (a *applier) exec(q string, args ...any) (sql.Result, error) {
	s, err := a.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(a.ctx, args...)
}

func (a *applier) queryRow(q string, args []any, dest ...any) error {
	s, err := a.stmt(q)
	if err != nil {
		return err
	}
	return s.QueryRowContext(a.ctx, args...).Scan(dest...)
}

// deleteImage removes an image and its faces, returning the number of faces.
func (a *applier) deleteImage(path string) (int64, error) {
	id, known := a.existing[path]
	switch {
	case known:
		delete(a.existing, path)
	case a.existing != nil && !a.pending[path]:
		return 0, nil // looked up: not stored
	default: // not looked up, or queued by this batch
		if a.pending[path] {
			if err := a.flush(); err != nil {
				return 0, err
			}
		}
		err := a.queryRow(`SELECT id FROM images WHERE path=?`, []any{[]byte(path)}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("catalog: delete %q: %w", path, err)
		}
	}
	res, err := a.exec(`DELETE FROM faces WHERE image_id=?`, id)
	if err != nil {
		return 0, fmt.Errorf("catalog: delete faces of %q: %w", path, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("catalog: delete faces of %q: %w", path, err)
	}
	if _, err := a.exec(`DELETE FROM images WHERE id=?`, id); err != nil {
		return 0, fmt.Errorf("catalog: delete %q: %w", path, err)
	}
	return n, nil
}

// lookupPuts fills a.existing with the stored ones among the paths of puts.
func (a *applier) lookupPuts(puts []Image) error {
	a.existing = make(map[string]int64)
	const chunk = 500
	args := make([]any, 0, chunk)
	for start := 0; start < len(puts); start += chunk {
		args = args[:0]
		for _, im := range puts[start:min(start+chunk, len(puts))] {
			args = append(args, []byte(im.Path))
		}
		rows, err := a.tx.QueryContext(a.ctx, `SELECT id, path FROM images WHERE path IN (?`+strings.Repeat(",?", len(args)-1)+`)`, args...)
		if err != nil {
			return fmt.Errorf("catalog: look up images: %w", err)
		}
		for rows.Next() {
			var id int64
			var p []byte
			if err := rows.Scan(&id, &p); err != nil {
				rows.Close()
				return fmt.Errorf("catalog: look up images: %w", err)
			}
			a.existing[string(p)] = id
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("catalog: look up images: %w", err)
		}
	}
	return nil
}

// personID returns the id of a person, inserting it if needed.
func (a *applier) personID(name string) (int64, error) {
	if id, ok := a.persons[name]; ok {
		return id, nil
	}
	var id int64
	err := a.queryRow(`INSERT INTO persons(name) VALUES(?)
		ON CONFLICT(name) DO UPDATE SET name=excluded.name RETURNING id`, []any{[]byte(name)}, &id)
	if err != nil {
		return 0, fmt.Errorf("catalog: person %q: %w", name, err)
	}
	a.persons[name] = id
	return id, nil
}

// readIDs reads the next image and face ids to assign. Face ids follow
// AUTOINCREMENT: above both sqlite_sequence and the largest present id.
func (a *applier) readIDs() error {
	if a.idsRead {
		return nil
	}
	err := a.tx.QueryRowContext(a.ctx, `SELECT
		(SELECT COALESCE(MAX(id), 0) FROM images),
		MAX((SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name='faces'), (SELECT COALESCE(MAX(id), 0) FROM faces))`).
		Scan(&a.nextImage, &a.nextFace)
	if err != nil {
		return fmt.Errorf("catalog: next ids: %w", err)
	}
	a.nextImage++
	a.nextFace++
	a.idsRead = true
	return nil
}

// putImage replaces an image row and its faces, queueing the new rows; it
// returns the number of faces removed plus inserted.
func (a *applier) putImage(im *Image) (int64, error) {
	removed, err := a.deleteImage(im.Path)
	if err != nil {
		return 0, err
	}
	pid, err := a.personID(im.Person)
	if err != nil {
		return 0, err
	}
	if err := a.readIDs(); err != nil {
		return 0, err
	}
	im.ID = a.nextImage
	a.nextImage++
	a.imageArgs = append(a.imageArgs, im.ID, []byte(im.Path), pid, im.Size, im.MtimeNS, im.SHA256, im.Width, im.Height, im.Status, im.Error, im.Model)
	a.pending[im.Path] = true
	for j := range im.Faces {
		f := &im.Faces[j]
		f.ID = a.nextFace
		a.nextFace++
		a.faceArgs = append(a.faceArgs, f.ID, im.ID, j, f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score,
			encodePoints(f.Landmarks), f.Primary, EncodeVector(f.Embedding), f.Model, f.Crop)
	}
	if len(a.imageArgs) >= rowsPerInsert*imageCols || len(a.faceArgs) >= rowsPerInsert*faceCols {
		if err := a.flush(); err != nil {
			return 0, err
		}
	}
	return removed + int64(len(im.Faces)), nil
}

// flush inserts the pending image rows, then their faces.
func (a *applier) flush() error {
	if err := a.insertRows(`INSERT INTO images(id, path, person_id, size, mtime_ns, sha256, width, height, status, error, model) VALUES`,
		imageCols, a.imageArgs); err != nil {
		return fmt.Errorf("catalog: insert images: %w", err)
	}
	if err := a.insertRows(`INSERT INTO faces(id, image_id, ord, x1, y1, x2, y2, score, landmarks, is_primary, embedding, model, crop) VALUES`,
		faceCols, a.faceArgs); err != nil {
		return fmt.Errorf("catalog: insert faces: %w", err)
	}
	clear(a.imageArgs)
	clear(a.faceArgs)
	a.imageArgs, a.faceArgs = a.imageArgs[:0], a.faceArgs[:0]
	clear(a.pending)
	return nil
}

// insertRows runs head followed by value tuples of cols placeholders, at
// most rowsPerInsert rows per statement.
func (a *applier) insertRows(head string, cols int, args []any) error {
	for len(args) > 0 {
		rows := min(len(args)/cols, rowsPerInsert)
		tuple := "(?" + strings.Repeat(",?", cols-1) + ")"
		q := head + tuple + strings.Repeat(","+tuple, rows-1)
		if _, err := a.exec(q, args[:rows*cols]...); err != nil {
			return err
		}
		args = args[rows*cols:]
	}
	return nil
}
