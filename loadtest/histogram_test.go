package loadtest

import (
	"encoding/json"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{1, 10000 * time.Microsecond},
		{0, time.Microsecond},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		// The bucket's upper edge: at or above the true value, by at most 1/64.
		if got < tt.want || float64(got) > float64(tt.want)*(1+1.0/subCount) {
			t.Errorf("Quantile(%v) = %v, want %v to +1/64", tt.q, got, tt.want)
		}
	}
	if h.Count() != 10000 || h.Min() != time.Microsecond || h.Max() != 10*time.Millisecond {
		t.Errorf("count, min, max = %d, %v, %v; want 10000, 1µs, 10ms", h.Count(), h.Min(), h.Max())
	}
	if got, want := h.Mean(), 5000500*time.Nanosecond; got != want {
		t.Errorf("mean = %v, want %v", got, want)
	}
}

func TestHistogramBucketsCoverEveryValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1} {
		i := bucketOf(v)
		if i < 0 || i >= buckets {
			t.Fatalf("bucketOf(%d) = %d, outside 0..%d", v, i, buckets-1)
		}
		if up := upperOf(i); up < v || (i > 0 && upperOf(i-1) >= v) {
			t.Errorf("value %d in bucket %d whose range ends at %d (previous ends at %d)", v, i, up, upperOf(i-1))
		}
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram: p99 %v, mean %v; want 0, 0", h.Quantile(0.99), h.Mean())
	}
	h.Record(-time.Second)
	if h.Max() != 0 || h.Count() != 1 {
		t.Errorf("negative recorded as max %v, count %d; want 0, 1", h.Max(), h.Count())
	}
}

func TestHistogramMergeAndJSON(t *testing.T) {
	var a, b Histogram
	a.Record(3 * time.Millisecond)
	b.Record(time.Millisecond)
	b.Record(200 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 3 || a.Min() != time.Millisecond || a.Max() != 200*time.Millisecond {
		t.Errorf("merged count, min, max = %d, %v, %v; want 3, 1ms, 200ms", a.Count(), a.Min(), a.Max())
	}
	raw, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back != a {
		t.Errorf("JSON round trip changed the histogram: %s", raw)
	}
	if err := json.Unmarshal([]byte(`{"buckets":[[99999,1]]}`), &back); err == nil {
		t.Error("a bucket out of range decoded without an error")
	}
}
