package npz

import (
	"fmt"
	"io"
	"os"

	"codeberg.org/sbinet/npyio/npz"
)

// Write writes p to w as an npz archive in the original FACE01 layout: the
// embeddings under key (DefaultKey when empty) as float32 of shape
// (n, 1, Dim), and the names under NamesKey as a numpy unicode array.
func Write(w io.Writer, key string, p *Person) error {
	if key == "" {
		key = DefaultKey
	}
	if key == NamesKey {
		return fmt.Errorf("npz: embedding key %q collides with the names key", key)
	}
	if err := p.validate(); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	// Nested views over p.Vectors give npyio the (n, 1, Dim) shape without copying.
	rows := make([][][]float32, p.Len())
	for i := range rows {
		rows[i] = [][]float32{p.Row(i)}
	}
	zw := npz.NewWriter(w)
	if err := zw.Write(key+".npy", rows); err != nil {
		return fmt.Errorf("npz: write %s: %w", key, err)
	}
	if err := zw.Write(NamesKey+".npy", p.Names); err != nil {
		return fmt.Errorf("npz: write %s: %w", NamesKey, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}

// WriteFile writes p to a new file at path (see Write).
func WriteFile(path, key string, p *Person) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	if err := Write(f, key, p); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("npz: %w", err)
	}
	return nil
}
