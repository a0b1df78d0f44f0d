package server

// Limits are the server's concurrency bounds. A caller that replaces its
// Server (serve's reload after a re-index) passes the same Limits to each,
// so that the bounds hold across the old and the new one.
type Limits struct {
	slots   chan struct{} // photo and pairs searches running
	uploads chan struct{} // request bodies being buffered
}

// UploadsPerSearch is how many uploads may be buffered at once per search
// slot: enough to keep the slots busy, few enough that slow clients hold at
// most UploadsPerSearch × MaxSearches × MaxUpload bytes.
const UploadsPerSearch = 4

// NewLimits returns bounds of maxSearches searches (at least 1) and
// UploadsPerSearch × maxSearches uploads being received at once.
func NewLimits(maxSearches int) *Limits {
	maxSearches = max(1, maxSearches)
	return &Limits{slots: make(chan struct{}, maxSearches), uploads: make(chan struct{}, UploadsPerSearch*maxSearches)}
}
