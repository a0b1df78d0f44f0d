// Package model describes face models: which files make a model, how its
// inputs are prepared, and where setup put them (FACESEARCH_HOME).
package model

import (
	"embed"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// File is one file of a model, relative to FACESEARCH_HOME.
type File struct {
	Path   string `json:"path"`   // relative to FACESEARCH_HOME
	SHA256 string `json:"sha256"` // hex; checked by `facesearch models verify`
	Source string `json:"source"` // where setup got it (npm package, user)
	// DerivedFrom, when set, says that Prepare makes this file from another
	// one (for example by flushing denormal weights).
	DerivedFrom *Derivation `json:"derived_from,omitempty"`
	// User marks a file the user supplies with `facesearch models add`
	// (it may not be redistributed). Its SHA256 is empty in the built-in
	// manifest; Load fills it from the record that `models add` wrote.
	User bool `json:"user,omitempty"`
	// AcceptSHA256 lists the hex sha256s `models add` accepts for a User
	// file; empty means any file whose input and output shapes fit.
	AcceptSHA256 []string `json:"accept_sha256,omitempty"`
}

// Derivation describes how Prepare makes a file from a source file.
type Derivation struct {
	Path      string `json:"path"`      // source, relative to FACESEARCH_HOME
	SHA256    string `json:"sha256"`    // hex sha256 the source must have
	Transform string `json:"transform"` // TransformFlushDenormals
}

// TransformFlushDenormals is the Derivation.Transform that rewrites the
// source with FlushDenormals.
const TransformFlushDenormals = "flush-denormals"

// Input describes how an image crop becomes the model's input tensor:
// value = (pixel - Mean) / Std, NCHW, channels in ColorOrder ("RGB" or "BGR").
// MeanRGB and StdRGB, when set, give a mean and std per channel instead
// (indexed R, G, B whatever ColorOrder is; pixel scale 0-255), as ImageNet
// normalisation needs.
type Input struct {
	Width      int       `json:"width"`
	Height     int       `json:"height"`
	Mean       float32   `json:"mean"`
	Std        float32   `json:"std"`
	ColorOrder string    `json:"color_order"`
	MeanRGB    []float32 `json:"mean_rgb,omitempty"`
	StdRGB     []float32 `json:"std_rgb,omitempty"`
}

// Channels returns the mean and std of the R, G and B channels: MeanRGB and
// StdRGB when set, else Mean and Std for all three.
func (in Input) Channels() (mean, std [3]float32, err error) {
	for c := range 3 {
		mean[c], std[c] = in.Mean, in.Std
	}
	if in.MeanRGB != nil {
		if len(in.MeanRGB) != 3 {
			return mean, std, fmt.Errorf("mean_rgb has %d values, want 3", len(in.MeanRGB))
		}
		copy(mean[:], in.MeanRGB)
	}
	if in.StdRGB != nil {
		if len(in.StdRGB) != 3 {
			return mean, std, fmt.Errorf("std_rgb has %d values, want 3", len(in.StdRGB))
		}
		copy(std[:], in.StdRGB)
	}
	for c := range 3 {
		if std[c] == 0 {
			return mean, std, fmt.Errorf("std of channel %d is 0", c)
		}
	}
	return mean, std, nil
}

// Manifest describes one face model: detector, landmarks and embedding.
type Manifest struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Files       map[string]File `json:"files"` // roles: "detect", "landmark", "feature"
	Detect      Input           `json:"detect"`
	Landmark    Input           `json:"landmark"`
	Feature     Input           `json:"feature"`
	// Alignment names the template the 5 points are mapped onto ("arcface112").
	Alignment string `json:"alignment"`
	// EmbeddingDim is the length of the embedding vector.
	EmbeddingDim int `json:"embedding_dim"`
	// Threshold is the cosine similarity at or above which two faces are
	// called the same person (calibrated on LFW, see docs/MODEL.md).
	Threshold float32 `json:"threshold"`
	// FlipAverage makes each embedding the L2-normalised sum of the
	// feature model's outputs for the aligned crop and for its horizontal
	// mirror: twice the embedding cost, slightly better accuracy
	// (docs/MODEL.md). The embeddings differ from single-pass ones, so the
	// model ID gets FlipSuffix.
	FlipAverage bool `json:"flip_average,omitempty"`
}

// FlipSuffix is appended to a model's ID when its embeddings are
// flip-averaged, so that a library never mixes them with single-pass ones.
const FlipSuffix = "+flip"

// ID names the embeddings the manifest produces: Name, plus FlipSuffix when
// FlipAverage is set.
func (m *Manifest) ID() string {
	if m.FlipAverage {
		return m.Name + FlipSuffix
	}
	return m.Name
}

//go:embed manifests/*.json
var manifests embed.FS

// DefaultName is the model used when none is named.
const DefaultName = "faceplugin-v1"

// Builtin returns the manifest shipped in the repository under that name.
func Builtin(name string) (*Manifest, error) {
	b, err := manifests.ReadFile("manifests/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("model %q: no such built-in manifest", name)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model %q: manifest: %w", name, err)
	}
	return &m, nil
}

// BuiltinNames returns the names of the manifests shipped in the
// repository, sorted.
func BuiltinNames() []string {
	entries, err := manifests.ReadDir("manifests")
	if err != nil {
		return nil // cannot happen: the directory is embedded
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Roles returns the roles of m's files, sorted.
func (m *Manifest) Roles() []string {
	roles := make([]string, 0, len(m.Files))
	for r := range m.Files {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// Path returns the absolute path of the model file with the given role.
func (m *Manifest) Path(home, role string) (string, error) {
	f, ok := m.Files[role]
	if !ok {
		return "", fmt.Errorf("model %s has no %q file", m.Name, role)
	}
	return filepath.Join(home, f.Path), nil
}

// Home returns FACESEARCH_HOME from getenv, or its default
// ($XDG_CACHE_HOME/facesearch, else $HOME/.cache/facesearch).
func Home(getenv func(string) string) string {
	if h := getenv("FACESEARCH_HOME"); h != "" {
		return h
	}
	if c := getenv("XDG_CACHE_HOME"); c != "" {
		return filepath.Join(c, "facesearch")
	}
	return filepath.Join(getenv("HOME"), ".cache", "facesearch")
}

// RuntimeLibrary returns the path of the onnxruntime shared library that
// setup extracted (FACESEARCH_ORT_LIB overrides).
func RuntimeLibrary(getenv func(string) string) string {
	if p := getenv("FACESEARCH_ORT_LIB"); p != "" {
		return p
	}
	return filepath.Join(Home(getenv), "onnxruntime-node", "bin", "napi-v6", "linux", "x64", "libonnxruntime.so.1")
}
