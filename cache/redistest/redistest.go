// Package redistest gives tests a Redis of their own: a private
// redis-server they may kill, freeze and restart, or a unique key prefix on
// the shared Redis that is deleted after the test.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the shared Redis when TEST_REDIS_URL is not set.
const DefaultURL = "redis://127.0.0.1:6379/0"

const startTimeout = 5 * time.Second

// Proc is a private redis-server on a port of its own.
type Proc struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu      sync.Mutex
	cmd     *exec.Cmd // nil while killed
	stopped bool
}

// Server starts a redis-server on a free port, without persistence, in a
// temporary directory, and returns its address. t.Cleanup kills it. It
// fails the test when redis-server is not installed or does not start.
func Server(t testing.TB) (addr string, p *Proc) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redistest: redis-server not found (%v): install it, e.g. apt-get install redis-server", err)
	}
	p = &Proc{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	p.start()
	t.Cleanup(p.Kill)
	return p.Addr(), p
}

// Addr is the server's host:port; it stays the same across restarts.
func (p *Proc) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// Kill ends the server at once (SIGKILL); connections are refused after it.
func (p *Proc) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	if p.stopped {
		// A stopped process only dies of SIGKILL, but continue it so
		// its exit is reported promptly.
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait() // it was killed: the exit status says nothing new
	p.cmd, p.stopped = nil, false
}

// Stop freezes the server with SIGSTOP: the kernel still accepts
// connections, but nothing answers.
func (p *Proc) Stop() { p.signal(syscall.SIGSTOP, true) }

// Cont wakes a server frozen by Stop.
func (p *Proc) Cont() { p.signal(syscall.SIGCONT, false) }

// Restart kills the server and starts a new one on the same port, empty.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Kill()
	p.start()
}

func (p *Proc) signal(sig syscall.Signal, stopped bool) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		p.t.Fatalf("redistest: %v to a redis-server that is not running", sig)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("redistest: %v to redis-server: %v", sig, err)
	}
	p.stopped = stopped
}

func (p *Proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	logfile := filepath.Join(p.dir, "redis.log")
	cmd := exec.Command(p.bin,
		"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir, "--logfile", logfile)
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("redistest: start redis-server: %v", err)
	}
	p.cmd = cmd
	if err := waitPong(p.Addr(), startTimeout); err != nil {
		log, _ := os.ReadFile(logfile)
		p.t.Fatalf("redistest: redis-server on %s did not answer: %v\n%s", p.Addr(), err, log)
	}
}

// waitPong polls addr with a raw PING until it answers +PONG.
func waitPong(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ping(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort asks the kernel for a port nobody listens on.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Shared connects to the shared Redis at TEST_REDIS_URL (DefaultURL when
// unset) and returns a client and a key prefix unique to this test. At
// cleanup it deletes every key under the prefix, with SCAN and UNLINK, and
// closes the client. It fails the test when that Redis does not answer.
func Shared(t testing.TB) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		url = DefaultURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		t.Fatalf("redistest: shared Redis at %s does not answer (%v): start it (redis-server) or set TEST_REDIS_URL", opts.Addr, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	prefix := "test:" + strings.NewReplacer("/", "_", " ", "_", "*", "_", "?", "_", "[", "_", "]", "_", "\\", "_").Replace(t.Name()) +
		":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		defer client.Close()
		if err := deletePrefix(context.Background(), client, prefix); err != nil {
			t.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
	})
	return client, prefix
}

func deletePrefix(ctx context.Context, c *redis.Client, prefix string) error {
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("unlink: %w", err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
