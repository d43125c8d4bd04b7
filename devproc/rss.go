package devproc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// PeakRSS is process pid's peak resident set size (VmHWM) in bytes, or 0
// when it cannot be read (the process is gone, or /proc is not Linux's).
func PeakRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// ResetPeakRSS starts a new peak measurement for process pid (writing 5
// to its clear_refs sets VmHWM to the current RSS), so that each case of
// a benchmark reports its own peak. Where the kernel refuses, PeakRSS
// keeps measuring from the process's start; that is not an error worth
// stopping a benchmark for, so none is returned.
func ResetPeakRSS(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
