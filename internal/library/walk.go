package library

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// File is a candidate image found by Walk.
type File struct {
	Rel     string // relative to the root, '/'-separated, raw bytes
	Person  string // first path element
	Size    int64
	MtimeNS int64
}

// Skipped is a file Walk left out with a note.
type Skipped struct {
	Rel    string
	Reason string
	// Unreadable marks a folder or file that could not be read: what it
	// holds is unknown, so its images in the catalog are kept.
	Unreadable bool `json:",omitempty"`
}

var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".jfif": true, ".png": true, ".gif": true,
	".bmp": true, ".webp": true, ".tif": true, ".tiff": true,
	// Phone photos: not decoded (no pure-Go decoder), but listed so that
	// index records them with status unsupported and stats counts them.
	".heic": true, ".heif": true, ".hif": true, ".avif": true,
}

var otherExts = map[string]bool{
	".csv": true, ".txt": true, ".npz": true, ".npy": true, ".json": true, ".md": true,
	".pdf": true, ".xml": true, ".db": true, ".html": true, ".zip": true, ".tar": true,
	".gz": true, ".pkl": true, ".py": true, ".mat": true, ".db-wal": true, ".db-shm": true,
}

// sniffImage reports whether a file starts like an image format; a file it
// cannot open is an error (not "not an image": its rows must be kept).
func sniffImage(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	var b [12]byte
	n, _ := io.ReadFull(f, b[:])
	h := b[:n]
	switch {
	case bytes.HasPrefix(h, []byte{0xff, 0xd8, 0xff}),
		bytes.HasPrefix(h, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(h, []byte("GIF8")),
		bytes.HasPrefix(h, []byte("BM")),
		bytes.HasPrefix(h, []byte("II*\x00")), bytes.HasPrefix(h, []byte("MM\x00*")),
		n == 12 && bytes.HasPrefix(h, []byte("RIFF")) && string(h[8:12]) == "WEBP",
		n == 12 && string(h[4:8]) == "ftyp" && strings.Contains("heic heix heim heis hevc hevx mif1 msf1 avif avis", string(h[8:12])):
		return true, nil
	}
	return false, nil
}

// isCandidate decides whether a file is an image to index: a known image
// extension, or an unknown extension whose content looks like an image.
func isCandidate(path string) (bool, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if imageExts[ext] {
		return true, nil
	}
	if otherExts[ext] {
		return false, nil
	}
	return sniffImage(path)
}

// fileType names the type of a file that is not a regular one.
func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return m.Type().String()
}

// Walk lists the images of a dataset laid out as ROOT/<person>/<images>.
// The person is the first-level folder; images in deeper folders belong to
// their first-level person. Images directly under ROOT belong to no person
// and are skipped with a note. Names starting with '.' (files and folders)
// are ignored, as are files that are neither image-named nor image-like.
// Symbolic links to files are followed; links to folders are not.
func Walk(root string) ([]File, []Skipped, error) {
	var files []File
	var skipped []Skipped
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			skipped = append(skipped, Skipped{Rel: filepath.ToSlash(rel), Reason: err.Error(), Unreadable: true})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if path == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		var info fs.FileInfo
		if d.Type()&fs.ModeSymlink != 0 {
			info, err = os.Stat(path) // follow links to files
		} else {
			info, err = d.Info()
		}
		if err != nil {
			skipped = append(skipped, Skipped{Rel: rel, Reason: err.Error(), Unreadable: true})
			return nil
		}
		if !info.Mode().IsRegular() {
			// A FIFO, socket or device is never read (opening a FIFO blocks);
			// links to folders are not followed, silently.
			if info.Mode()&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeDevice|fs.ModeCharDevice) != 0 {
				skipped = append(skipped, Skipped{Rel: rel, Reason: "not a regular file (" + fileType(info.Mode()) + ")"})
			}
			return nil
		}
		candidate, err := isCandidate(path)
		if err != nil {
			skipped = append(skipped, Skipped{Rel: rel, Reason: err.Error(), Unreadable: true})
			return nil
		}
		if !candidate {
			return nil
		}
		person, _, nested := strings.Cut(rel, "/")
		if !nested {
			skipped = append(skipped, Skipped{Rel: rel, Reason: "not in a person folder"})
			return nil
		}
		files = append(files, File{Rel: rel, Person: person, Size: info.Size(), MtimeNS: info.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walk %s: %w", root, err)
	}
	return files, skipped, nil
}

// IsImageName reports whether path is a file Walk would list as an image:
// an image extension, or an unknown one with image-like content.
// A file that cannot be read is not one.
func IsImageName(path string) bool {
	ok, err := isCandidate(path)
	return ok && err == nil
}
