package faiss

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds a cpu-ms/op metric from the CPU time used since start: on a
// shared machine wall time depends on the other load, CPU time much less
// (it does include OpenBLAS threads spin-waiting).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// The benchmark corpus: as many 512-d unit vectors as the face dataset has
// faces, searched by inner product (cosine). Run with
//
//	OPENBLAS_CORETYPE=SkylakeX go test -run x -bench . -benchtime 3x ./internal/faiss/
const (
	benchN   = 57637
	benchDim = 512
)

var benchData = sync.OnceValues(func() ([]float32, []int64) {
	rng := rand.New(rand.NewPCG(42, 43))
	return randUnit(rng, benchN, benchDim), seqIDs(benchN, 0)
})

func benchFlat(b *testing.B) (*Index, []float32) {
	b.Helper()
	db, ids := benchData()
	x := mustNew(b, benchDim, "Flat", InnerProduct)
	if err := x.Add(db, ids); err != nil {
		b.Fatal(err)
	}
	return x, db
}

// BenchmarkBuildFlat measures creating an exact index and adding every vector.
func BenchmarkBuildFlat(b *testing.B) {
	db, ids := benchData()
	start := cpuTime()
	for b.Loop() {
		x, err := New(benchDim, "Flat", InnerProduct)
		if err != nil {
			b.Fatal(err)
		}
		if err := x.Add(db, ids); err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
	reportCPU(b, start)
}

// BenchmarkSearchOne measures one exact top-10 query, through BLAS sgemm
// (this package's setting) and through faiss's default scalar loop.
func BenchmarkSearchOne(b *testing.B) {
	x, db := benchFlat(b)
	defer SetBLASThreshold(BLASThreshold())
	for _, tc := range []struct {
		name      string
		threshold int
	}{{"blas", 1}, {"scalar_default", 20}} {
		b.Run(tc.name, func(b *testing.B) {
			SetBLASThreshold(tc.threshold)
			i := 0
			start := cpuTime()
			for b.Loop() {
				q := db[(i%benchN)*benchDim : (i%benchN+1)*benchDim]
				if _, _, err := x.Search(q, 10, nil); err != nil {
					b.Fatal(err)
				}
				i += 997
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkSearchBatch1000 measures 1,000 exact top-10 queries in one call.
func BenchmarkSearchBatch1000(b *testing.B) {
	x, db := benchFlat(b)
	q := db[:1000*benchDim]
	start := cpuTime()
	for b.Loop() {
		if _, _, err := x.Search(q, 10, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "µs/query")
}

// BenchmarkAllPairsTop10 measures the exact top-10 of every vector against all
// the others: the whole dataset as one batch of queries.
func BenchmarkAllPairsTop10(b *testing.B) {
	x, db := benchFlat(b)
	start := cpuTime()
	for b.Loop() {
		if _, _, err := x.Search(db, 10, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkIVFSearchOne measures one IVF100 top-10 query at several nprobe.
func BenchmarkIVFSearchOne(b *testing.B) {
	db, ids := benchData()
	x := mustNew(b, benchDim, "IVF100,Flat", InnerProduct)
	if err := x.Train(db); err != nil {
		b.Fatal(err)
	}
	if err := x.Add(db, ids); err != nil {
		b.Fatal(err)
	}
	for _, nprobe := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("nprobe%d", nprobe), func(b *testing.B) {
			p := &SearchParams{NProbe: nprobe}
			i := 0
			start := cpuTime()
			for b.Loop() {
				q := db[(i%benchN)*benchDim : (i%benchN+1)*benchDim]
				if _, _, err := x.Search(q, 10, p); err != nil {
					b.Fatal(err)
				}
				i += 997
			}
			reportCPU(b, start)
		})
	}
}
