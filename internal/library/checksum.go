package library

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// The index data file's checksum is stored in index.json (IndexInfo.Checksum)
// and verified when the file is opened with another stamp than the one
// recorded after writing it (stamp.go), and always by VerifyIndex, so that a
// file damaged after it was written (zeroed pages, a flipped count, a
// shuffled id table) is rebuilt from the catalog instead of answering with
// wrong matches. CRC-32C is
// hardware-accelerated on amd64 and arm64 and reads the 118 MB vector file of
// 57,637 faces in a few milliseconds (docs/BENCHMARKS.md); it detects
// accidental damage, not a deliberate forgery (whoever can write the file
// can write index.json).

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// checksumPrefix names the algorithm in the stored value.
const checksumPrefix = "crc32c:"

func formatChecksum(sum uint32) string { return fmt.Sprintf("%s%08x", checksumPrefix, sum) }

// checksumBytes is the checksum of the vectors and ids of a FlatFile (the
// bytes after the header) or of a whole faiss index file.
func checksumBytes(b []byte) string { return formatChecksum(crc32.Checksum(b, crcTable)) }

// checksumFile is checksumBytes of the file at path from offset off.
func checksumFile(path string, off int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := crc32.New(crcTable)
	if _, err := io.Copy(h, io.NewSectionReader(f, off, 1<<62)); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return formatChecksum(h.Sum32()), nil
}

// ErrIndexDamaged is wrapped by the error of opening an index file whose
// contents do not match index.json (checksum, count) or the catalog.
var ErrIndexDamaged = errors.New("index file damaged")

// verifyChecksum compares a computed checksum with the stored one ("" in an
// index.json written before checksums: nothing to compare).
func verifyChecksum(path, want, got string) error {
	if want == "" || want == got {
		return nil
	}
	return fmt.Errorf("%s: %w: checksum %s, index.json says %s", path, ErrIndexDamaged, got, want)
}

// checkCatalogCount compares the number of faces the index holds with the
// catalog's: with the same generation they must be equal.
func (l *Library) checkCatalogCount(ctx context.Context, path string, n int64) error {
	faces, err := l.cat.FaceCount(ctx)
	if err != nil {
		return fmt.Errorf("%s: count the catalog's faces: %w", path, err)
	}
	if faces != n {
		return fmt.Errorf("%s: %w: holds %d faces, the catalog %d", path, ErrIndexDamaged, n, faces)
	}
	return nil
}
