package cache

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestValueRoundTrip(t *testing.T) {
	fresh := time.UnixMilli(1_780_000_000_123)
	tests := []struct {
		name           string
		html           []byte
		wantCompressed bool
	}{
		{"small", []byte("<p>one</p>"), false},
		{"empty", []byte{}, false},
		{"fragment", sampleHTML(24), true},
		{"incompressible", noise(4096), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := encode(tt.html, fresh)
			if got := v[3]&flagS2 != 0; got != tt.wantCompressed {
				t.Errorf("compressed = %v, want %v (value %d bytes for %d of HTML)", got, tt.wantCompressed, len(v), len(tt.html))
			}
			e, err := decode(v)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !bytes.Equal(e.html, tt.html) || !e.freshUntil.Equal(fresh) {
				t.Errorf("decode = %d bytes fresh until %v, want %d bytes until %v", len(e.html), e.freshUntil, len(tt.html), fresh)
			}
		})
	}
}

func TestValueCorrupt(t *testing.T) {
	good := encode(sampleHTML(24), time.Now())
	tests := []struct {
		name  string
		value func() []byte
	}{
		{"foreign", func() []byte { return []byte("<p>not ours, and long enough to hold a header</p>") }},
		{"short", func() []byte { return good[:headerLen-1] }},
		{"newer format", func() []byte { return with(good, 2, formatVersion+1) }},
		{"unknown flags", func() []byte { return with(good, 3, 0x80) }},
		{"flipped body byte", func() []byte { return with(good, len(good)-10, good[len(good)-10]^0x01) }},
		{"flipped hash", func() []byte { return with(good, 12, good[12]^0x01) }},
		{"truncated body", func() []byte { return good[:len(good)/2] }},
	}
	for _, tt := range tests {
		if _, err := decode(tt.value()); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: decode error = %v, want errCorrupt", tt.name, err)
		}
	}
}

// with returns a copy of v with byte i set to b.
func with(v []byte, i int, b byte) []byte {
	v = bytes.Clone(v)
	v[i] = b
	return v
}

// noise returns n bytes that do not compress.
func noise(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
