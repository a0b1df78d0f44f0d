package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ProfilesDir is the folder under FACESEARCH_HOME holding one record per
// user-supplied model file (<profile>.json), written by Add.
const ProfilesDir = "profiles"

// Record is what `facesearch models add` stored for a profile's
// user-supplied file.
type Record struct {
	Profile string    `json:"profile"`
	Role    string    `json:"role"`
	Path    string    `json:"path"`   // relative to FACESEARCH_HOME
	SHA256  string    `json:"sha256"` // of the copied file
	Source  string    `json:"source"` // the file the user gave
	Input   string    `json:"input"`  // graph input, e.g. "input [1,3,224,224]"
	Output  string    `json:"output"` // first graph output
	Added   time.Time `json:"added"`
}

// ErrNotAdded is wrapped by Load's and Check's errors for a user-supplied
// file that `facesearch models add` has not installed yet.
var ErrNotAdded = errors.New("model file not added")

func recordPath(home, name string) string {
	return filepath.Join(home, ProfilesDir, name+".json")
}

// ReadRecord returns the record of profile name under home, or nil when
// there is none.
func ReadRecord(home, name string) (*Record, error) {
	b, err := os.ReadFile(recordPath(home, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", recordPath(home, name), err)
	}
	return &r, nil
}

// Load returns the built-in manifest name with the sha256 of its
// user-supplied files filled from the records under home (left empty when
// not added yet: Check then reports ErrNotAdded).
func Load(home, name string) (*Manifest, error) {
	m, err := Builtin(name)
	if err != nil {
		return nil, err
	}
	if err := m.fillUser(home); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manifest) fillUser(home string) error {
	for role, f := range m.Files {
		if !f.User {
			continue
		}
		r, err := ReadRecord(home, m.Name)
		if err != nil {
			return fmt.Errorf("model %s: %w", m.Name, err)
		}
		if r != nil && r.Role == role && r.Path == f.Path {
			f.SHA256 = r.SHA256
			m.Files[role] = f
		}
	}
	return nil
}

// UserRole returns the role of m's user-supplied file ("" if none).
func (m *Manifest) UserRole() string {
	for _, r := range m.Roles() {
		if m.Files[r].User {
			return r
		}
	}
	return ""
}

// AddHint tells the user how to install a profile's model file.
func AddHint(name string) string {
	return fmt.Sprintf("add the model file with 'facesearch models add %s FILE.onnx'", name)
}

// Available checks that every file of m exists under home; for a missing
// user-supplied file the error says how to add it. It does not hash.
func Available(home string, m *Manifest) error {
	var errs []error
	for _, role := range m.Roles() {
		f := m.Files[role]
		p := filepath.Join(home, f.Path)
		if _, err := os.Stat(p); err != nil {
			if f.User {
				errs = append(errs, fmt.Errorf("model %s: %s file %s: %w (%s)", m.Name, role, p, ErrNotAdded, AddHint(m.Name)))
			} else {
				errs = append(errs, fmt.Errorf("model %s: %s file: %w", m.Name, role, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ShapeError reports a model file whose inputs or outputs do not fit the
// profile.
type ShapeError struct {
	Profile string
	Path    string
	Err     error
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("%s does not fit profile %s: %v", e.Path, e.Profile, e.Err)
}
func (e *ShapeError) Unwrap() error { return e.Err }

// Add installs src as the user-supplied file of the built-in profile name:
// it checks the model's input and output shapes against the profile and its
// sha256 against the profile's accepted list (if any), copies it under home
// at the path the manifest names, and records its sha256 (ProfilesDir).
// Adding another file replaces the previous one.
func Add(home, name, src string) (*Record, error) {
	m, err := Builtin(name)
	if err != nil {
		return nil, err
	}
	role := m.UserRole()
	if role == "" {
		return nil, fmt.Errorf("model %s has no user-supplied file (its files come from setup: 'facesearch models prepare %s')", name, name)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	sig, err := ParseSignature(b)
	if err != nil {
		return nil, &ShapeError{Profile: name, Path: src, Err: err}
	}
	if err := CheckFeatureSignature(m, sig); err != nil {
		return nil, &ShapeError{Profile: name, Path: src, Err: err}
	}
	sum := hashBytes(b)
	f := m.Files[role]
	if len(f.AcceptSHA256) > 0 && !slices.Contains(f.AcceptSHA256, sum) {
		return nil, fmt.Errorf("%s: sha256 %s is not one profile %s accepts (%s)", src, sum, name, strings.Join(f.AcceptSHA256, ", "))
	}
	dst := filepath.Join(home, f.Path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := writeAtomic(dst, b); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		abs = src
	}
	r := &Record{Profile: name, Role: role, Path: f.Path, SHA256: sum, Source: abs,
		Input: sig.Inputs[0].String(), Output: sig.Outputs[0].String(), Added: time.Now().UTC().Truncate(time.Second)}
	rb, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(home, ProfilesDir), 0o755); err != nil {
		return nil, err
	}
	if err := writeAtomic(recordPath(home, name), append(rb, '\n')); err != nil {
		return nil, err
	}
	return r, nil
}
