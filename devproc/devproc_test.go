package devproc

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitDone fails the test unless c ends within d.
func waitDone(t *testing.T, c *Child, d time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(d):
		t.Fatalf("%s (pid %d) still running after %v", c.Name(), c.Pid(), d)
	}
}

func TestCleanEnv(t *testing.T) {
	for _, k := range []string{"PORT", "DATABASE_URL", "LOG_LEVEL", "ADMIN_TOKEN", "GOMAXPROCS", "REDIS_URL", "ANIGO_TTL_POPULAR", "PGHOST"} {
		t.Setenv(k, "leak")
	}
	t.Setenv("DEVPROC_KEEP", "kept")
	got := CleanEnv("PORT=0", "X=1")
	for _, kv := range got[:len(got)-2] {
		if strings.HasSuffix(kv, "=leak") {
			t.Errorf("CleanEnv kept %q", kv)
		}
	}
	if !slices.Contains(got, "DEVPROC_KEEP=kept") {
		t.Errorf("CleanEnv dropped DEVPROC_KEEP: %q", got)
	}
	if tail := got[len(got)-2:]; !slices.Equal(tail, []string{"PORT=0", "X=1"}) {
		t.Errorf("CleanEnv ends with %q, want the extras [PORT=0 X=1]", tail)
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d, want a TCP port", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the free port %d: %v", port, err)
	}
	ln.Close()
}

func TestStartLoggedEndsAndReportsExit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "c.log")
	ok, err := StartLogged("true", log, []string{"true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, ok, 5*time.Second)
	if err := ok.Err(); err != nil {
		t.Errorf("true: Err = %v, want nil", err)
	}
	bad, err := StartLogged("false", log, []string{"false"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, bad, 5*time.Second)
	if bad.Err() == nil {
		t.Error("false: Err = nil, want its exit status")
	}
	if _, err := StartLogged("missing", log, []string{"/nonexistent/devproc-missing"}, nil); err == nil || !strings.Contains(err.Error(), "start missing") {
		t.Errorf("start of a missing program: err = %v, want one naming it", err)
	}
	if _, err := StartLogged("empty", log, nil, nil); err == nil {
		t.Error("start of an empty command line: no error")
	}
}

func TestStopEndsAChild(t *testing.T) {
	c, err := StartLogged("sleep", filepath.Join(t.TempDir(), "c.log"), []string{"sleep", "30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pid() <= 0 {
		t.Errorf("Pid = %d", c.Pid())
	}
	if rss := PeakRSS(c.Pid()); rss <= 0 {
		t.Errorf("PeakRSS(sleep) = %d, want more than 0", rss)
	}
	ResetPeakRSS(c.Pid())
	if rss := PeakRSS(c.Pid()); rss <= 0 {
		t.Errorf("PeakRSS(sleep) after a reset = %d, want more than 0", rss)
	}
	t0 := time.Now()
	c.Stop(10 * time.Second)
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Stop took %v, want the child ended by SIGTERM, not the 10s grace", d)
	}
	var ee interface{ Sys() any }
	if !errors.As(c.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("Err = %v, want ended by SIGTERM", c.Err())
	}
	c.Stop(time.Second) // twice is fine
	if err := c.Signal(syscall.SIGCONT); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after the end = %v, want os.ErrProcessDone", err)
	}
	if rss := PeakRSS(c.Pid()); rss != 0 {
		t.Errorf("PeakRSS of an ended process = %d, want 0", rss)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	// An ignored signal stays ignored across exec: this sleep ignores SIGTERM.
	c, err := StartLogged("stubborn", filepath.Join(t.TempDir(), "c.log"), []string{"sh", "-c", `trap "" TERM; exec sleep 30`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let sh set the trap and exec
	t0 := time.Now()
	c.Stop(300 * time.Millisecond)
	if d := time.Since(t0); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %v, want the 300ms grace and then SIGKILL", d)
	}
	var ee interface{ Sys() any }
	if !errors.As(c.Err(), &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("Err = %v, want ended by SIGKILL", c.Err())
	}
}

func TestRun(t *testing.T) {
	log := filepath.Join(t.TempDir(), "run.log")
	if err := Run(context.Background(), log, []string{"sh", "-c", "echo out; echo err >&2"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), log, []string{"echo", "again"}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "out\nerr\nagain\n"; got != want {
		t.Errorf("log = %q, want %q (both streams, appended)", got, want)
	}
	err = Run(context.Background(), log, []string{"false"}, nil)
	if err == nil || !strings.Contains(err.Error(), "false: exit status 1") || !strings.Contains(err.Error(), log) {
		t.Errorf("Run(false) = %v, want the exit status and the log", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = Run(ctx, log, []string{"sleep", "30"}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run(sleep 30) past its deadline = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Run took %v after its context ended", d)
	}
}

func TestStartServer(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "srv.log")
	tests := []struct {
		name    string
		script  string
		wantURL string
		wantErr string
	}{
		{"listening", `echo starting; echo "srv: listening on [::]:4242"; exec sleep 30`, "http://127.0.0.1:4242", ""},
		{"exits first", `echo bye; exit 3`, "", "exited before listening (exit status 3)"},
		{"bad address", `echo "listening on nowhere"; exec sleep 30`, "", `cannot read the address in "nowhere"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, url, err := StartServer(context.Background(), "srv", log, []string{"sh", "-c", tt.script}, nil)
			if c != nil {
				defer c.Stop(time.Second)
			}
			if url != tt.wantURL {
				t.Errorf("url = %q, want %q", url, tt.wantURL)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if (c != nil) != (tt.wantErr == "") {
				t.Errorf("child = %v, want one only without an error", c)
			}
		})
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "starting\nsrv: listening on [::]:4242\n") || !strings.Contains(string(b), "bye\n") {
		t.Errorf("log = %q, want the servers' output", b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := StartServer(ctx, "mute", log, []string{"sleep", "30"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("StartServer of a server that never listens, ctx ended: err = %v, want context.DeadlineExceeded", err)
	}
}

func TestRedisKillFreezeRestart(t *testing.T) {
	r, err := StartRedis(context.Background(), filepath.Join(t.TempDir(), "redis.log"), "--maxmemory", "16mb")
	if err != nil {
		t.Fatalf("private redis-server (needs /usr/bin/redis-server: apt-get install redis-server): %v", err)
	}
	defer r.Close()
	addr := r.Addr()
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port())); addr != want {
		t.Errorf("Addr = %q, want %q", addr, want)
	}
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"started", func() error { return nil }, true},
		{"frozen", r.Stop, false},
		{"thawed", r.Cont, true},
		{"killed", func() error { r.Kill(); return nil }, false},
		{"restarted", func() error { return r.Restart(context.Background()) }, true},
		{"restarted while running", func() error { return r.Restart(context.Background()) }, true},
		{"frozen again", r.Stop, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := PingRedis(addr); got != st.want {
			t.Errorf("%s: PingRedis(%s) = %v, want %v", st.name, addr, got, st.want)
		}
	}
	// A frozen process that handles SIGTERM (redis-server does) acts on it
	// only once thawed: Close must not need its 5 s grace and SIGKILL.
	t0 := time.Now()
	r.Close()
	if d := time.Since(t0); d > 4*time.Second {
		t.Errorf("Close of a frozen server took %v, want it thawed and ended by SIGTERM", d)
	}
	if PingRedis(addr) {
		t.Errorf("closed: PingRedis(%s) = true, want false", addr)
	}
	if r.Addr() != addr {
		t.Errorf("Addr after restarts = %q, want the same %q", r.Addr(), addr)
	}
	if err := r.Stop(); err == nil {
		t.Error("Stop of a closed server: no error")
	}
}
