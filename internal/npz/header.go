package npz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// npyMagic starts every .npy file.
var npyMagic = []byte("\x93NUMPY")

// maxDims bounds the rank accepted in a header (numpy's own limit is 64).
const maxDims = 32

// maxElems bounds the element count of one array (so that count*itemsize
// cannot overflow).
const maxElems = 1 << 40

// npyHeader is a validated .npy header.
type npyHeader struct {
	descr   string // e.g. "<f4", "<U11"
	kind    byte   // 'f', 'U' or 'S'
	order   byte   // '<', '>' or '|'
	size    int    // item size in bytes
	fortran bool
	shape   []int
	count   int // product of shape
}

// splitNPY validates the header of a whole .npy file held in raw and returns
// it with the array data that follows. The data length must match the shape.
func splitNPY(raw []byte) (npyHeader, []byte, error) {
	var h npyHeader
	if len(raw) < 10 || !bytes.Equal(raw[:6], npyMagic) {
		return h, nil, fmt.Errorf("%w: no NUMPY magic", ErrBadNPY)
	}
	major := raw[6]
	var hlen, start int
	switch major {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(raw[8:10])), 10
	case 2, 3:
		if len(raw) < 12 {
			return h, nil, fmt.Errorf("%w: truncated header", ErrBadNPY)
		}
		l := binary.LittleEndian.Uint32(raw[8:12])
		if uint64(l) > uint64(len(raw)) {
			return h, nil, fmt.Errorf("%w: header length %d beyond end of data", ErrBadNPY, l)
		}
		hlen, start = int(l), 12
	default:
		return h, nil, fmt.Errorf("%w: unknown format version %d", ErrBadNPY, major)
	}
	if start+hlen > len(raw) {
		return h, nil, fmt.Errorf("%w: header length %d beyond end of data", ErrBadNPY, hlen)
	}
	text := raw[start : start+hlen]
	data := raw[start+hlen:]
	if major == 3 {
		// Version 3 only differs by allowing UTF-8 in the header.
	} else {
		for _, c := range text {
			if c >= 0x80 {
				return h, nil, fmt.Errorf("%w: non-ASCII header", ErrBadNPY)
			}
		}
	}
	if err := h.parseDict(string(text)); err != nil {
		return h, nil, err
	}
	want := uint64(h.count) * uint64(h.size)
	if uint64(len(data)) != want {
		return h, nil, fmt.Errorf("%w: shape %s of %s needs %d data bytes, found %d", ErrBadNPY, shapeString(h.shape), h.descr, want, len(data))
	}
	return h, data, nil
}

// parseDict parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 512), }
func (h *npyHeader) parseDict(s string) error {
	s = strings.TrimRight(s, " \n\x00")
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return fmt.Errorf("%w: header is not a dict: %.80q", ErrBadNPY, s)
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	seen := map[string]bool{}
	for s != "" {
		key, rest, ok := quoted(s)
		if !ok {
			return fmt.Errorf("%w: bad header key near %.40q", ErrBadNPY, s)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return fmt.Errorf("%w: no ':' after header key %q", ErrBadNPY, key)
		}
		rest = strings.TrimSpace(rest[1:])
		if seen[key] {
			return fmt.Errorf("%w: duplicate header key %q", ErrBadNPY, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "descr":
			var d string
			if d, rest, ok = quoted(rest); !ok {
				return fmt.Errorf("%w: dtype %.40q is not a simple type (structured arrays are not supported)", ErrDType, rest)
			}
			err = h.setDescr(d)
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				h.fortran, rest = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				h.fortran, rest = false, rest[5:]
			default:
				return fmt.Errorf("%w: bad fortran_order %.20q", ErrBadNPY, rest)
			}
		case "shape":
			rest, err = h.parseShape(rest)
		default:
			return fmt.Errorf("%w: unknown header key %q", ErrBadNPY, key)
		}
		if err != nil {
			return err
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		} else if rest != "" {
			return fmt.Errorf("%w: junk in header near %.40q", ErrBadNPY, rest)
		}
		s = rest
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return fmt.Errorf("%w: header lacks %q", ErrBadNPY, k)
		}
	}
	return nil
}

// quoted parses a leading single- or double-quoted string without escapes.
func quoted(s string) (val, rest string, ok bool) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	val = s[1 : 1+end]
	if strings.ContainsRune(val, '\\') {
		return "", s, false
	}
	return val, s[2+end:], true
}

// setDescr accepts float ('f4', 'f8'), numpy unicode ('U<n>') and byte
// string ('S<n>') dtypes, in any byte order.
func (h *npyHeader) setDescr(d string) error {
	h.descr = d
	if d == "" {
		return fmt.Errorf("%w: empty dtype", ErrDType)
	}
	t := d
	switch t[0] {
	case '<', '>', '|', '=':
		h.order, t = t[0], t[1:]
	default:
		h.order = '='
	}
	if h.order == '=' {
		h.order = '<' // numpy files are written by little-endian machines in practice; '=' means native
	}
	if t == "O" {
		t = "O8"
	}
	if len(t) < 2 {
		return fmt.Errorf("%w %q", ErrDType, d)
	}
	n, err := strconv.Atoi(t[1:])
	if err != nil || n < 0 || n > 1<<20 {
		return fmt.Errorf("%w %q", ErrDType, d)
	}
	h.kind = t[0]
	switch h.kind {
	case 'f':
		if n != 4 && n != 8 {
			return fmt.Errorf("%w %q (want float32 or float64)", ErrDType, d)
		}
		h.size = n
		if h.order == '|' {
			return fmt.Errorf("%w %q: float without byte order", ErrDType, d)
		}
	case 'U':
		if h.order == '|' {
			h.order = '<'
		}
		h.size = 4 * n
	case 'S':
		h.size = n
	case 'O':
		return fmt.Errorf("%w %q: a pickled object array is not read; re-save it as a numpy unicode array (np.array(names, dtype=str))", ErrDType, d)
	default:
		return fmt.Errorf("%w %q", ErrDType, d)
	}
	return nil
}

// parseShape parses a tuple of non-negative ints and sets shape and count.
func (h *npyHeader) parseShape(s string) (string, error) {
	if !strings.HasPrefix(s, "(") {
		return s, fmt.Errorf("%w: shape is not a tuple: %.40q", ErrBadNPY, s)
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return s, fmt.Errorf("%w: unterminated shape", ErrBadNPY)
	}
	h.shape = h.shape[:0]
	count := uint64(1)
	for tok := range strings.SplitSeq(s[1:end], ",") {
		tok = strings.TrimSpace(tok)
		tok = strings.TrimSuffix(tok, "L") // Python 2 longs
		if tok == "" {
			continue
		}
		v, err := strconv.ParseUint(tok, 10, 40)
		if err != nil {
			return s, fmt.Errorf("%w: bad shape entry %q", ErrBadNPY, tok)
		}
		if len(h.shape) == maxDims {
			return s, fmt.Errorf("%w: more than %d dimensions", ErrShape, maxDims)
		}
		h.shape = append(h.shape, int(v))
		if v != 0 && count > maxElems/v {
			return s, fmt.Errorf("%w: shape %s is too large", ErrShape, s[:end+1])
		}
		count *= v
	}
	h.count = int(count)
	return s[end+1:], nil
}

// canonical returns the header as a version 1.0 .npy prefix in the exact
// layout numpy writes, for handing validated data to npyio.
func (h *npyHeader) canonical() []byte {
	order := "False"
	if h.fortran {
		order = "True"
	}
	dict := fmt.Sprintf("{'descr': '%c%c%d', 'fortran_order': %s, 'shape': %s, }",
		h.order, h.kind, h.itemCount(), order, shapeString(h.shape))
	total := len(npyMagic) + 4 + len(dict) + 1
	pad := (64 - total%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, len(npyMagic)+4+len(dict))
	out = append(out, npyMagic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)))
	return append(out, dict...)
}

// itemCount is the number in the dtype string: bytes for 'f' and 'S',
// characters for 'U'.
func (h *npyHeader) itemCount() int {
	if h.kind == 'U' {
		return h.size / 4
	}
	return h.size
}

// shapeString formats a shape the way numpy does: (3,), (3, 512).
func shapeString(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return fmt.Sprintf("(%d,)", shape[0])
	}
	parts := make([]string, len(shape))
	for i, v := range shape {
		parts[i] = strconv.Itoa(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
