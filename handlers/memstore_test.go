package handlers

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMemStorage(t *testing.T) {
	m := newMemStorage()
	if err := m.Set("a", []byte("1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("gone", []byte("2"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("forever", []byte("3"), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	for key, want := range map[string]string{"a": "1", "gone": "", "forever": "3", "never-set": ""} {
		got, err := m.Get(key)
		if err != nil || string(got) != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for range sweepEvery {
		_ = m.Set("a", []byte("1"), time.Hour)
	}
	if _, ok := m.entries["gone"]; ok {
		t.Error("an expired entry survived a sweep")
	}
	_ = m.Delete("a")
	if got, _ := m.Get("a"); got != nil {
		t.Errorf("Get after Delete = %q", got)
	}
	_ = m.Reset()
	if len(m.entries) != 0 {
		t.Errorf("%d entries after Reset", len(m.entries))
	}
}

// Building an app must start no goroutine that outlives it: Fiber's own
// in-memory limiter storage did, one per limiter.
func TestNewStartsNoGoroutines(t *testing.T) {
	// Fiber's timestamp updater is one goroutine per process, started once.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"))
	for range 3 {
		app := newTestApp(t, 1).app
		if err := app.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
}
