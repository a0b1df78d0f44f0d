package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/library"
)

// Values of the cleansing commands' --similarity.
const (
	cleanseSimRaw     = library.SimilarityRaw
	cleanseSimAdapted = library.SimilarityAdapted
)

// defaultCleanseDuplicate is cleanse's default duplicate level (raw cosine).
const defaultCleanseDuplicate = 0.95

// cleanseSim is the similarity a cleansing session compares faces in.
type cleanseSim struct {
	// Name is "raw" or "adapted:<transform id>", as search reports it.
	Name string
	// Duplicate is the near-duplicate level in that similarity.
	Duplicate float32
	// Levels is how the adapted levels were carried over from the raw ones
	// (zero for raw).
	Levels cleanse.Levels
	// RawThreshold is the raw-cosine threshold the levels were matched to.
	RawThreshold float32
}

// addCleanseSimilarityFlag defines --similarity for pairs, audit and
// lookalikes.
func addCleanseSimilarityFlag(fs *flag.FlagSet) *string {
	return fs.String("similarity", cleanseSimRaw, "compare faces in the `raw` cosine or the library's adapted similarity (adapted: docs/ADAPTATION.md; its levels are carried over from the raw ones on the library's own face pairs)")
}

// useSimilarity switches the session to the similarity asked for: raw keeps
// the catalog's embeddings and the raw levels; adapted loads the library's
// adapted vectors of the same faces and carries the threshold and the
// duplicate level over to the adapted similarity (cleanse.MatchedLevels), so
// that they keep the same share of the library's face pairs.
func (s *cleanseSession) useSimilarity(ctx context.Context, sim string, faces []cleanse.Face) error {
	switch sim {
	case cleanseSimRaw, "":
		s.sim = cleanseSim{Name: cleanseSimRaw, Duplicate: defaultCleanseDuplicate}
		return nil
	case cleanseSimAdapted:
	default:
		return usageError{fmt.Sprintf("--similarity %q: want raw or adapted", sim)}
	}
	ids := make([]int64, len(faces))
	raw := make([][]float32, len(faces))
	for k, f := range faces {
		ids[k], raw[k] = f.ID, f.Vec
	}
	vecs, a, err := s.lib.AdaptedVectors(ctx, ids, raw)
	if err != nil {
		return fmt.Errorf("--similarity adapted: %w", err)
	}
	mapped := make([]cleanse.Face, len(faces))
	copy(mapped, faces)
	for k := range mapped {
		mapped[k].Vec = vecs[k]
	}
	data, err := cleanse.Prepare(mapped)
	if err != nil {
		return fmt.Errorf("library %s: adapted vectors: %w", s.lib.Dir(), err)
	}
	lv, err := cleanse.MatchedLevels(s.data, data, s.threshold, defaultCleanseDuplicate)
	if err != nil {
		return fmt.Errorf("library %s: %s: %w", s.lib.Dir(), a.Similarity(), err)
	}
	s.sim = cleanseSim{Name: a.Similarity(), Duplicate: lv.DuplicateSim, Levels: lv, RawThreshold: s.threshold}
	s.data, s.threshold = data, lv.Threshold
	s.source = fmt.Sprintf("%s %.2f carried over to %s: the level that %.1f%% of %d sampled different-folder face pairs reach, as at the raw one",
		s.source, s.sim.RawThreshold, a.Similarity(), 100*lv.OtherShare, lv.OtherPairs)
	return nil
}

// printSimilarity writes the header line naming the similarity compared in.
func (s *cleanseSession) printSimilarity(w io.Writer, what string) {
	if s.sim.Name == cleanseSimRaw || s.sim.Name == "" {
		fmt.Fprintf(w, "%s: similarity raw (cosine of the model's embeddings)\n", what)
		return
	}
	fmt.Fprintf(w, "%s: similarity %s (the library's adapted similarity; raw threshold %.2f carried over to %.2f, duplicate level %.2f over %d same-folder face pairs)\n",
		what, s.sim.Name, s.sim.RawThreshold, s.threshold, s.sim.Duplicate, s.sim.Levels.SamePairs)
}

// similarityName is the similarity for outputs ("raw" when unset).
func (s *cleanseSession) similarityName() string {
	if s.sim.Name == "" {
		return cleanseSimRaw
	}
	return s.sim.Name
}
