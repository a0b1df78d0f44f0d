// Package face holds the domain type of a face stored in a library: what the
// use cases (search, calibration, evaluation, cleansing, the serve backend)
// load from the catalog and pass to the algorithms. It has no dependencies.
//
// The pipeline's own result (embed.Face, with landmarks and the aligned
// crop), the detector's boxes (detect.Face), the server's JSON records and
// the HTML report's rows are other types on purpose: they are a stage's
// output, a wire format and a rendering, and change for their own reasons.
package face

// Face is one face of a library's image, or (ID 0, Vec nil) an image in which
// none was found.
type Face struct {
	// ID is the catalog's face id (also the vector index id); 0 for an
	// image without a face.
	ID int64
	// ImageID is the catalog's id of the image the face is in.
	ImageID int64
	// Person is the folder the image is filed under (raw bytes).
	Person string
	// File is the image's path relative to the dataset root, '/'-separated,
	// raw bytes: the catalog's key of the image, stable when the root moves.
	// A caller that needs a file-system path joins it with the library's
	// root (the cleansing commands do, for their move scripts).
	File string
	// Status is the image's catalog status ("ok" when indexed with faces).
	Status string
	// Hash is the hex SHA-256 of the image's bytes; "" when unknown or when
	// the library's rows are not image files (import-npz).
	Hash string
	// Primary marks the image's primary face (nearest the image centre).
	Primary bool
	// Box is x1, y1, x2, y2 in image pixels.
	Box [4]float32
	// Score is the detector's confidence.
	Score float32
	// Vec is the embedding (unit length as stored); nil for an image
	// without a face.
	Vec []float32
}
