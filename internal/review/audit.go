package review

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/facesearch/facesearch/internal/cleanse"
	"github.com/facesearch/facesearch/internal/server"
	"github.com/facesearch/facesearch/internal/vecindex"
)

type auditState struct {
	data     *cleanse.Dataset
	ids      []int64 // dataset index -> face id
	findings []server.Finding
	index    vecindex.RangeIndex // exact index of data, shared by pairs requests
	result   *cleanse.AuditResult
}

// audited returns the audit, starting it on first use in the background (it
// may take longer than one request on a large library); while it runs,
// requests get "unavailable" with a Retry-After after waiting auditWait.
func (b *Backend) audited(ctx context.Context) (*auditState, error) {
	b.auditMu.Lock()
	if b.auditDone == nil {
		b.auditDone = make(chan struct{})
		go func() {
			defer close(b.auditDone)
			b.audit, b.auditErr = b.runAudit(b.ctx)
			if b.auditErr == nil { // the look-alikes follow the audit, in the background
				b.looks.log = b.log.Info
				b.looks.start(b.ctx, b.lookalikesOf(b.audit))
			}
		}()
	}
	done := b.auditDone
	b.auditMu.Unlock()
	t := time.NewTimer(auditWait)
	defer t.Stop()
	select {
	case <-done:
		return b.audit, b.auditErr
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &server.Error{Kind: server.KindUnavailable, Msg: "the audit of the library is still running; try again in a moment", RetryAfter: auditRetry}
}

// runAudit audits the primary faces with the exact index.
func (b *Backend) runAudit(ctx context.Context) (*auditState, error) {
	var faces []cleanse.Face
	var ids []int64
	for id, f := range b.snap.faces {
		if f.Primary {
			faces = append(faces, cleanse.Face{ID: id, Person: f.Person, File: f.File, Hash: b.snap.hashes[id], Vec: b.snap.vecs[id]})
		}
	}
	sort.Slice(faces, func(i, j int) bool { return faces[i].ID < faces[j].ID })
	for _, f := range faces {
		ids = append(ids, f.ID)
	}
	d, err := cleanse.Prepare(faces)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	t0 := time.Now()
	res, err := d.Audit(ctx, b.cleanseOptions())
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	b.log.Info("audit done", "faces", len(faces), "findings", len(res.Findings), "seconds", time.Since(t0).Seconds())
	idx, err := d.BuildIndex(b.index)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	st := &auditState{data: d, ids: ids, index: idx, result: res}
	for _, f := range res.Findings {
		sev, _ := f.Severity.MarshalText()
		out := server.Finding{Kind: string(f.Kind), Severity: string(sev), Score: f.Score, Persons: f.Persons,
			Similarity: f.Similarity, Baseline: f.Baseline, Reason: f.Reason, Faces: []int64{}, Evidence: []server.FacePair{}}
		for _, i := range f.Faces {
			out.Faces = append(out.Faces, ids[i])
		}
		for _, p := range f.Evidence {
			out.Evidence = append(out.Evidence, server.FacePair{A: b.snap.faces[ids[p.A]], B: b.snap.faces[ids[p.B]], Similarity: p.Similarity})
		}
		out.Key = findingKey(out)
		st.findings = append(st.findings, out)
	}
	return st, nil
}

// findingKey names a finding as the CLI's audit does (cleanse.FindingKey).
func findingKey(f server.Finding) string { return cleanse.FindingKey(f.Kind, f.Persons, f.Faces) }

// Findings implements server.Cleanser.
func (b *Backend) Findings(ctx context.Context) ([]server.Finding, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	dis, err := b.lib.Dismissed(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]server.Finding, len(st.findings))
	for i, f := range st.findings {
		f.Dismissed = dis[f.Key]
		out[i] = f
	}
	return out, nil
}

// Pairs implements server.Cleanser.
func (b *Backend) Pairs(ctx context.Context, min float32, top int) ([]server.FacePair, error) {
	st, err := b.audited(ctx)
	if err != nil {
		return nil, err
	}
	res, err := st.data.Pairs(ctx, b.cleanseOptions(), cleanse.PairsOptions{Min: min, MinSet: true, Top: top, Index: st.index})
	if err != nil {
		return nil, err
	}
	out := make([]server.FacePair, len(res.Pairs))
	for i, p := range res.Pairs {
		out[i] = server.FacePair{A: b.snap.faces[st.ids[p.A]], B: b.snap.faces[st.ids[p.B]], Similarity: p.Similarity}
	}
	return out, nil
}

// SetDismissed implements server.Cleanser; the decision goes to the
// catalog's review table (shared with the CLI), the dataset is not touched.
func (b *Backend) SetDismissed(ctx context.Context, key string, d bool) error {
	st, err := b.audited(ctx)
	if err != nil {
		return err
	}
	known := false
	for _, f := range st.findings {
		known = known || f.Key == key
	}
	if !known {
		return server.ErrNotFound
	}
	return b.lib.SetDismissed(ctx, key, d)
}
