package devproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// redisStartTimeout bounds how long a private redis-server may take to
// answer PING.
const redisStartTimeout = 10 * time.Second

// Redis is a private redis-server on 127.0.0.1, without persistence, that
// a test or drill may kill, freeze and restart on the same port. It is not
// safe for concurrent use.
type Redis struct {
	port    int
	logPath string
	args    []string
	c       *Child
}

// StartRedis starts redis-server on a free port of 127.0.0.1, without
// persistence, with args added to its command line (such as "--dir", d
// or "--maxmemory", "256mb"), its output appended to logPath, and waits
// until it answers PING. The error says redis-server is missing, exited,
// or did not answer in 10 s, or is ctx's.
func StartRedis(ctx context.Context, logPath string, args ...string) (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	r := &Redis{port: port, logPath: logPath, args: slices.Clone(args)}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) start(ctx context.Context) error {
	argv := append([]string{"redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"}, r.args...)
	c, err := StartLogged("redis", r.logPath, argv, CleanEnv())
	if err != nil {
		return fmt.Errorf("%w (install it: apt-get install redis-server)", err)
	}
	r.c = c
	t := time.NewTimer(redisStartTimeout)
	defer t.Stop()
	for {
		if PingRedis(r.Addr()) {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("private redis-server on port %d exited (%v); see %s", r.port, c.err, r.logPath)
		case <-ctx.Done():
			c.Stop(stopGrace)
			return ctx.Err()
		case <-t.C:
			c.Stop(stopGrace)
			return fmt.Errorf("private redis-server on port %d did not answer PING in %v; see %s", r.port, redisStartTimeout, r.logPath)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

// Port is the server's port, the same across restarts.
func (r *Redis) Port() int { return r.port }

// Pid is the process id of the running server.
func (r *Redis) Pid() int { return r.c.Pid() }

// Kill ends the server at once (SIGKILL), as a crash would, and waits
// until it is gone. Killing an ended server does nothing.
func (r *Redis) Kill() { r.c.Kill() }

// Stop freezes the server (SIGSTOP): connections stay open and nothing
// answers. The error is the signal's, e.g. when the server has ended.
func (r *Redis) Stop() error { return r.c.Signal(syscall.SIGSTOP) }

// Cont thaws a server frozen by Stop (SIGCONT). The error is the
// signal's.
func (r *Redis) Cont() error { return r.c.Signal(syscall.SIGCONT) }

// Restart starts the server again, empty, on the same port, and waits
// until it answers PING; a server still running is killed first. The
// errors are StartRedis's.
func (r *Redis) Restart(ctx context.Context) error {
	r.c.Kill()
	return r.start(ctx)
}

// Close ends the server (SIGTERM, and SIGCONT in case it is frozen; then
// SIGKILL after 5 s). Closing twice is fine.
func (r *Redis) Close() { r.c.Stop(stopGrace) }

// PingRedis reports whether a Redis at addr answers PING within 200 ms.
func PingRedis(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
