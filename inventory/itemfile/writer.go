package itemfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Writer streams items as one YAML or JSON list that Read reads back.
type Writer struct {
	w      *bufio.Writer
	buf    bytes.Buffer // one JSON item
	format string
	n      int
}

// NewWriter returns a writer of format "yaml" or "json".
func NewWriter(w io.Writer, format string) (*Writer, error) {
	if format != "yaml" && format != "json" {
		return nil, schema.FieldErrorf(schema.EINVALID, "format", "want yaml or json, got %q", format)
	}
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), format: format}, nil
}

// Write adds one item to the list.
func (iw *Writer) Write(it inventory.Item) error {
	if len(it.Attrs) == 0 {
		it.Attrs = nil
	}
	var err error
	if iw.format == "json" {
		err = iw.writeJSON(it)
	} else {
		err = iw.writeYAML(it)
	}
	if err == nil {
		iw.n++
	}
	return err
}

func (iw *Writer) writeJSON(it inventory.Item) error {
	sep := ",\n"
	if iw.n == 0 {
		sep = "[\n"
	}
	iw.buf.Reset()
	enc := json.NewEncoder(&iw.buf)
	enc.SetEscapeHTML(false) // a file for people and tana import, not a web page
	if err := enc.Encode(it); err != nil {
		return err
	}
	iw.w.WriteString(sep)
	_, err := iw.w.Write(bytes.TrimSuffix(iw.buf.Bytes(), []byte("\n")))
	return err
}

func (iw *Writer) writeYAML(it inventory.Item) error {
	enc := yaml.NewEncoder(iw.w)
	enc.SetIndent(2)
	if err := enc.Encode([]inventory.Item{it}); err != nil {
		return err
	}
	return enc.Close()
}

// Close ends the list and flushes it.
func (iw *Writer) Close() error {
	if iw.format == "json" {
		if iw.n == 0 {
			iw.w.WriteString("[")
		}
		iw.w.WriteString("\n]\n")
	} else if iw.n == 0 {
		iw.w.WriteString("[]\n")
	}
	return iw.w.Flush()
}
