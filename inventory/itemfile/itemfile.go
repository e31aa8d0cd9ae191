// Package itemfile is the file format of tana import and tana export: a
// YAML or JSON list of items ({type, name, attrs}). Reading is strict —
// unknown keys, trailing data, a second YAML document and invalid UTF-8
// are refused with the line and column — because whatever it lets
// through is written to the store.
package itemfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Read decodes a YAML or JSON list of items from r; name (the file) is
// how errors place a problem, as name:line:column.
func Read(r io.Reader, name string) ([]inventory.Item, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return Parse(data, name)
}

// ReadFile reads the items of the file at path.
func ReadFile(path string) ([]inventory.Item, error) {
	data, err := os.ReadFile(path) // sized up front: import files run to 100 MB
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(data, path)
}

// Parse decodes a YAML or JSON list of items: JSON when the first thing in
// data is '[', YAML otherwise.
func Parse(data []byte, name string) ([]inventory.Item, error) {
	if !utf16(data) {
		if i := invalidUTF8(data); i >= 0 {
			return nil, errorAt(name, data, i, "invalid UTF-8 (byte 0x%02x); the file must be UTF-8", data[i])
		}
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		return parseJSON(data, name)
	}
	return parseYAML(data, name)
}

func parseJSON(data []byte, name string) ([]inventory.Item, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var items []inventory.Item
	if err := dec.Decode(&items); err != nil {
		return nil, jsonError(name, data, err)
	}
	end := int(dec.InputOffset())
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorAt(name, data, nextByte(data, end), "data after the list of items")
	}
	return items, nil
}

// jsonError places a decoding error at its offset, where encoding/json
// gives one.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errorAt(name, data, int(se.Offset)-1, "bad JSON: %v", err)
	case errors.As(err, &te):
		return errorAt(name, data, int(te.Offset)-1, "bad JSON: %v", err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errorAt(name, data, len(data), "bad JSON: the list is not closed")
	}
	return schema.FieldErrorf(schema.EINVALID, name, "bad JSON: %v", err)
}

func parseYAML(data []byte, name string) ([]inventory.Item, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var items []inventory.Item
	if err := dec.Decode(&items); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file
		}
		return nil, schema.FieldErrorf(schema.EINVALID, name, "bad YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return nil, schema.FieldErrorf(schema.EINVALID, name, "bad YAML after the list of items: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("%s:%d", name, line), "a second YAML document; an import file is one list of items")
	}
	return items, nil
}

// utf16 reports whether data starts with a UTF-16 byte order mark, which
// YAML (not JSON) allows.
func utf16(data []byte) bool {
	return bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE})
}

// invalidUTF8 returns the offset of the first byte that is not UTF-8, or
// -1. encoding/json would replace it with U+FFFD without a word.
func invalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1 // the fast path: find the offset only when there is one
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// nextByte skips white space from offset i.
func nextByte(data []byte, i int) int {
	for i < len(data) && strings.IndexByte(" \t\r\n", data[i]) >= 0 {
		i++
	}
	return i
}

// errorAt is an invalid-input error at byte offset i of data, placed as
// name:line:column (column in bytes, from 1).
func errorAt(name string, data []byte, i int, format string, args ...any) error {
	i = max(0, min(i, len(data)))
	line := 1 + bytes.Count(data[:i], []byte("\n"))
	col := i - bytes.LastIndexByte(data[:i], '\n')
	return schema.FieldErrorf(schema.EINVALID, fmt.Sprintf("%s:%d:%d", name, line, col), format, args...)
}
