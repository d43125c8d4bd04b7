package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/anigo/anigo"
	"github.com/klauspost/compress/zstd"
)

// Format is a catalog file format.
type Format string

// The formats Decoder reads.
const (
	FormatCSV   Format = "csv"   // Kaggle "Anime Recommendations Database" anime.csv
	FormatJSON  Format = "json"  // anime-offline-database minified JSON
	FormatJSONL Format = "jsonl" // anime-offline-database JSON Lines
)

// ErrEmpty is returned by NewDecoder for a source without a byte.
var ErrEmpty = errors.New("importer: the file is empty")

// ErrUnknownFormat is returned by NewDecoder for content it cannot read.
var ErrUnknownFormat = errors.New("importer: unknown format: want the anime CSV (header " + csvHeader +
	") or anime-offline-database JSON or JSON Lines, optionally .zst")

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// sniffSize is how much of the (decompressed) content detection looks at.
const sniffSize = 64 << 10

// Decoder reads the records of one catalog file.
type Decoder struct {
	format     Format
	compressed bool
	r          *bufio.Reader
	zr         *zstd.Decoder // nil unless compressed
}

// NewDecoder detects the format of r, by content first and name (a file
// name such as "x.jsonl.zst") as a hint, and returns a Decoder for it.
// Zstandard compression is recognised by its magic bytes. It returns
// ErrEmpty for an empty source, ErrUnknownFormat for anything else it
// cannot read, or the read error. Close the Decoder when done.
func NewDecoder(r io.Reader, name string) (*Decoder, error) {
	d := &Decoder{r: bufio.NewReaderSize(r, sniffSize)}
	head, err := d.r.Peek(len(zstdMagic))
	if len(head) == 0 && (err == io.EOF || err == nil) {
		return nil, ErrEmpty
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("importer: read: %w", err)
	}
	if bytes.Equal(head, zstdMagic) {
		// One goroutine: decoding is not the bottleneck, the database is.
		zr, err := zstd.NewReader(d.r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("importer: zstd: %w", err)
		}
		d.zr, d.compressed = zr, true
		d.r = bufio.NewReaderSize(zr, sniffSize)
		name = strings.TrimSuffix(name, ".zst")
	}
	head, err = d.r.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		d.Close()
		return nil, fmt.Errorf("importer: read: %w", err)
	}
	if bom := []byte("\xef\xbb\xbf"); bytes.HasPrefix(head, bom) {
		d.r.Discard(len(bom)) // cannot fail: the bytes are buffered
		head = head[len(bom):]
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		d.Close()
		return nil, ErrEmpty
	case bytes.HasPrefix(head, []byte(csvHeader)):
		d.format = FormatCSV
	case trimmed[0] == '{':
		d.format = jsonFormat(trimmed, name)
	default:
		d.Close()
		return nil, ErrUnknownFormat
	}
	return d, nil
}

// jsonFormat tells JSON Lines from one JSON document: by name when it
// says, else by a second object starting on a new line.
func jsonFormat(head []byte, name string) Format {
	name = strings.ToLower(name)
	switch {
	case strings.HasSuffix(name, ".jsonl"):
		return FormatJSONL
	case strings.HasSuffix(name, ".json"):
		return FormatJSON
	case bytes.Contains(head, []byte("}\n{")), bytes.Contains(head, []byte("}\r\n{")):
		return FormatJSONL
	}
	return FormatJSON
}

// Format is the detected format.
func (d *Decoder) Format() Format { return d.format }

// Compressed reports whether the content was Zstandard-compressed.
func (d *Decoder) Compressed() bool { return d.compressed }

// Close releases the decompressor. It does not close the underlying reader.
func (d *Decoder) Close() error {
	if d.zr != nil {
		d.zr.Close()
	}
	return nil
}

// Records yields the file's valid records in order. A malformed record is
// left out and reported to skip (which may be nil) with its line or record
// number and the reason. A damaged file (broken CSV quoting, invalid or
// truncated JSON, a read or decompression error) ends the sequence with an
// error naming the line: an import must then be abandoned.
func (d *Decoder) Records(skip func(anigo.ImportSkip)) iter.Seq2[anigo.ImportRecord, error] {
	if skip == nil {
		skip = func(anigo.ImportSkip) {}
	}
	switch d.format {
	case FormatCSV:
		return csvRecords(d.r, skip)
	case FormatJSONL:
		return jsonlRecords(d.r, skip)
	default:
		return jsonRecords(d.r, skip)
	}
}
