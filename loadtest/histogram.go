package loadtest

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits linear buckets, so a recorded value is off by at most 1/64
// (1.6 %) of itself, and the whole range of time.Duration fits in about
// 3,800 counters (30 KB).
const (
	subBits  = 6
	subCount = 1 << subBits
	buckets  = (64-subBits-1)*subCount + 2*subCount
)

// Histogram counts durations in log-linear buckets, HDR style: constant
// relative precision at any magnitude, a fixed size, and O(1) recording.
// The zero value is empty and ready; it is not safe for concurrent use
// (give each goroutine its own and Merge them).
type Histogram struct {
	counts [buckets]uint64
	total  uint64
	min    time.Duration
	max    time.Duration
	sum    time.Duration
}

// bucketOf maps v ≥ 0 to its bucket: values below 2·subCount have their
// own bucket; above, the top subBits+1 significant bits pick it.
func bucketOf(v uint64) int {
	shift := bits.Len64(v) - (subBits + 1)
	if shift <= 0 {
		return int(v)
	}
	return shift*subCount + int(v>>shift)
}

// upperOf is the largest value that falls into bucket i.
func upperOf(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	mantissa := uint64(i - shift*subCount)
	return (mantissa+1)<<shift - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.total == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.total++
	h.sum += d
}

// Merge adds every count of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest recorded duration, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest recorded duration, exactly.
func (h *Histogram) Min() time.Duration { return h.min }

// Mean is the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return h.sum / time.Duration(h.total)
}

// Quantile returns the duration at or below which a fraction q (0 to 1) of
// the recordings fall: the upper edge of the bucket that holds it, never
// more than Max. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	// The rank of the recording asked for, 1-based, rounded up so that the
	// p99 of 100 values is the 99th, not the 100th.
	rank := uint64(q*float64(h.total) + 0.9999999)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(upperOf(i)), h.max)
		}
	}
	return h.max
}

// Stats are the usual summary of a histogram.
type Stats struct {
	Count uint64        `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Stats summarises h.
func (h *Histogram) Stats() Stats {
	return Stats{
		Count: h.total, Min: h.min, Mean: h.Mean(),
		P50: h.Quantile(0.50), P90: h.Quantile(0.90), P99: h.Quantile(0.99), P999: h.Quantile(0.999),
		Max: h.max,
	}
}

// histogramJSON is the wire form: only the non-empty buckets, as
// [bucket, count] pairs, so that a result crosses a process boundary intact.
type histogramJSON struct {
	Buckets [][2]uint64   `json:"buckets"`
	Min     time.Duration `json:"min_ns"`
	Max     time.Duration `json:"max_ns"`
	Sum     time.Duration `json:"sum_ns"`
}

// MarshalJSON encodes h losslessly.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	w := histogramJSON{Buckets: [][2]uint64{}, Min: h.min, Max: h.max, Sum: h.sum}
	for i, c := range h.counts {
		if c > 0 {
			w.Buckets = append(w.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON wrote. It returns an error for a
// bucket index out of range.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var w histogramJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("loadtest: histogram: %w", err)
	}
	*h = Histogram{min: w.Min, max: w.Max, sum: w.Sum}
	for _, p := range w.Buckets {
		if p[0] >= buckets {
			return fmt.Errorf("loadtest: histogram: bucket %d out of range 0..%d", p[0], buckets-1)
		}
		h.counts[p[0]] += p[1]
		h.total += p[1]
	}
	return nil
}
