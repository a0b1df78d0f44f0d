package library

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestWriteJSONAtomicConcurrent: concurrent writers of one file each write
// a unique temporary file, so every rename succeeds and the file is always
// one writer's whole document (a fixed ".tmp" name let one writer rename or
// truncate the other's).
func TestWriteJSONAtomicConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, VerdictFile)
	big := strings.Repeat("x", 1<<16)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				errs <- writeJSONAtomic(path, map[string]any{"writer": w, "i": i, "pad": big})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil || v["pad"] != big {
		t.Fatalf("torn file (%d bytes): %v", len(b), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
