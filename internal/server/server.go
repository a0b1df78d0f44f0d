// Package server serves facesearch's web page and JSON API: search a face
// library with a photo (or an embedding), browse its people and review the
// cleansing findings. It depends only on the small interfaces declared here
// (Detector, Searcher, Catalog, Cleanser); package cli wires them to the
// library, the face pipeline and the audit.
//
// Faces, crops and images are addressed by catalog id only: no path taken
// from a request ever reaches the file system. Every error is returned as
// JSON {"error":{"code":"...","message":"..."}}; the table in errors.go maps
// error kinds to HTTP statuses. docs/API.md documents the endpoints.
package server

import (
	"context"
	"embed"
	"image"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"
)

// QueryFace is one face found in an uploaded photo.
type QueryFace struct {
	Box       [4]float32 // x1, y1, x2, y2 in image pixels
	Score     float32    // detector confidence
	Embedding []float32  // unit length
}

// Detector finds and embeds the faces of a photo. It must be safe for
// concurrent calls.
type Detector interface {
	// Faces returns every face of img and the index of the photo's subject
	// (-1 when there is no face).
	Faces(ctx context.Context, img *image.RGBA) (faces []QueryFace, primary int, err error)
}

// Match is one search result.
type Match struct {
	FaceID     int64
	ImageID    int64
	Similarity float32 // cosine similarity
	File       string  // relative to the dataset root
	Person     string
	Box        [4]float32
}

// Searcher finds the library faces most similar to a unit vector. It must be
// safe for concurrent calls.
type Searcher interface {
	// Search returns at most k matches, best first.
	Search(ctx context.Context, vec []float32, k int) ([]Match, error)
	// Dim is the embedding dimension the library holds.
	Dim() int
}

// FaceRecord describes one face of the library.
type FaceRecord struct {
	ID      int64      `json:"id"`
	ImageID int64      `json:"image_id"`
	File    string     `json:"file"`
	Person  string     `json:"person"`
	Box     [4]float32 `json:"box"`
	Score   float32    `json:"score"`
	Primary bool       `json:"primary"`
}

// Person is one person folder of the library.
type Person struct {
	Name   string `json:"name"`
	Images int    `json:"images"` // image files of the folder (any status)
	Faces  int    `json:"faces"`  // detected faces, background faces included
	// PrimaryFaces counts the faces that are their photo's subject: the
	// folder's person (one per image with a face).
	PrimaryFaces int `json:"primary_faces"`
	// FaceID is the catalog id of the face shown as the person's thumbnail
	// (0: none).
	FaceID int64 `json:"face_id,omitempty"`
}

// ImageRecord describes one image of the library.
type ImageRecord struct {
	ID     int64        `json:"id"`
	File   string       `json:"file"`
	Person string       `json:"person"`
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Status string       `json:"status"`
	Error  string       `json:"error,omitempty"`
	Faces  []FaceRecord `json:"faces"`
}

// FileRef locates an image's original file and says what the catalog
// recorded of it; the server serves the file only while it still matches.
type FileRef struct {
	Root    string    // the dataset root; the file must resolve inside it
	Path    string    // relative to Root, '/'-separated
	Size    int64     // size recorded by the catalog
	ModTime time.Time // modification time recorded by the catalog
}

// Stats summarises the library.
type Stats struct {
	Persons      int            `json:"persons"`
	Images       int            `json:"images"`
	ImagesOK     int            `json:"images_ok"`
	Faces        int            `json:"faces"`
	PrimaryFaces int            `json:"primary_faces"`
	ByStatus     map[string]int `json:"by_status"`
	Model        string         `json:"model"`
	Index        string         `json:"index"`       // index type, e.g. "Flat"
	IndexState   string         `json:"index_state"` // fresh, stale, missing
	Threshold    float32        `json:"threshold"`
}

// Catalog reads the library's records. Unknown ids and names return an error
// wrapping ErrNotFound. It must be safe for concurrent calls.
type Catalog interface {
	Persons(ctx context.Context) ([]Person, error)
	PersonFaces(ctx context.Context, name string) ([]FaceRecord, error)
	Face(ctx context.Context, id int64) (FaceRecord, error)
	// FaceCrop returns the encoded aligned crop of a face and its MIME type.
	FaceCrop(ctx context.Context, id int64) ([]byte, string, error)
	Image(ctx context.Context, id int64) (ImageRecord, error)
	// ImageFile locates the original file of an image. Only images indexed
	// from photos with status ok have one; for others it returns an error
	// wrapping ErrNotFound (or an *Error saying why).
	ImageFile(ctx context.Context, id int64) (FileRef, error)
	Stats(ctx context.Context) (Stats, error)
}

// Finding is one cleansing finding, ready to show.
type Finding struct {
	Key        string     `json:"key"` // stable across runs of the same audit
	Kind       string     `json:"kind"`
	Severity   string     `json:"severity"`
	Score      float64    `json:"score"`
	Persons    []string   `json:"persons"`
	Faces      []int64    `json:"faces"`
	Evidence   []FacePair `json:"evidence"`
	Similarity float32    `json:"similarity"`
	Baseline   float32    `json:"baseline"`
	Reason     string     `json:"reason"`
	Dismissed  bool       `json:"dismissed"`
}

// FacePair is two library faces and their similarity.
type FacePair struct {
	A          FaceRecord `json:"a"`
	B          FaceRecord `json:"b"`
	Similarity float32    `json:"similarity"`
}

// Cleanser gives the audit of the library and records reviewers' decisions
// (in the catalog; it never touches the dataset's files).
type Cleanser interface {
	Findings(ctx context.Context) ([]Finding, error)
	// Pairs returns the cross-folder face pairs with similarity >= min,
	// best first, at most top.
	Pairs(ctx context.Context, min float32, top int) ([]FacePair, error)
	// SetDismissed marks (or unmarks) a finding as "not a problem".
	SetDismissed(ctx context.Context, key string, dismissed bool) error
}

// Options configure a Server.
type Options struct {
	Detector Detector // required for photo search
	Searcher Searcher // required
	Catalog  Catalog  // required
	Cleanser Cleanser // optional: without it the cleansing API answers "unavailable"
	// Threshold is the same-person cosine similarity used for badges.
	Threshold float32
	// Token, when set, is required as "Authorization: Bearer TOKEN" (or the
	// facesearch_token cookie) on every /api/ request.
	Token string
	// Addr is the listen address (host:port). Without a Token, /api/
	// requests must name in their Host header a loopback IP, "localhost",
	// Addr's host or one of Hosts, a guard against DNS rebinding; when
	// Addr's host is unspecified (0.0.0.0, ::) any IP address is accepted
	// too (host names only from Hosts).
	Addr string
	// Hosts are further host names accepted in the Host header without a
	// Token.
	Hosts []string
	// MaxUpload bounds the request body in bytes (default 20 MiB).
	MaxUpload int64
	// MaxPixels bounds the pixels of an uploaded image (default 40 million).
	MaxPixels int64
	// RequestTimeout bounds the work of one request (default 30 s).
	RequestTimeout time.Duration
	// MaxSearches bounds the photo searches run at once (default NumCPU);
	// others wait for a slot until their deadline.
	MaxSearches int
	// Limits, when set, are shared with other Servers (and MaxSearches is
	// ignored); default NewLimits(MaxSearches).
	Limits *Limits
	// DefaultK and MaxK bound the number of results (defaults 12 and 200).
	DefaultK, MaxK int
	Log            *slog.Logger
}

// Defaults for Options.
const (
	DefaultMaxUpload      = 20 << 20
	DefaultMaxPixels      = 40_000_000
	DefaultRequestTimeout = 30 * time.Second
	DefaultK              = 12
	DefaultMaxK           = 200
)

//go:embed web
var webFS embed.FS

// Server is the HTTP handler of the page and the API.
type Server struct {
	opt      Options
	log      *slog.Logger
	mux      *http.ServeMux
	slots    chan struct{} // Limits.slots
	uploads  chan struct{} // Limits.uploads
	static   fs.FS
	bindHost string // Options.Addr's host, as hostOnly gives it
	bindAny  bool   // Options.Addr's host is unspecified
}

// New returns a Server; it fails if a required interface is missing.
func New(opt Options) (*Server, error) {
	if opt.Searcher == nil || opt.Catalog == nil || opt.Detector == nil {
		return nil, errorf(KindInternal, "server: Detector, Searcher and Catalog are required")
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = DefaultMaxUpload
	}
	if opt.MaxPixels <= 0 {
		opt.MaxPixels = DefaultMaxPixels
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = DefaultRequestTimeout
	}
	if opt.MaxSearches <= 0 {
		opt.MaxSearches = runtime.NumCPU()
	}
	if opt.DefaultK <= 0 {
		opt.DefaultK = DefaultK
	}
	if opt.MaxK <= 0 {
		opt.MaxK = DefaultMaxK
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(webFS, "web")
	if err != nil {
		return nil, err
	}
	lim := opt.Limits
	if lim == nil {
		lim = NewLimits(opt.MaxSearches)
	}
	s := &Server{opt: opt, log: log, mux: http.NewServeMux(), slots: lim.slots, uploads: lim.uploads, static: static}
	if opt.Addr != "" {
		s.bindHost = hostOnly(opt.Addr)
		ip := net.ParseIP(s.bindHost)
		s.bindAny = s.bindHost == "" || ip != nil && ip.IsUnspecified()
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}
