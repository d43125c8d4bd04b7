package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cleanups runs what was registered, last first, once.
type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(fn func()) {
	c.mu.Lock()
	c.fns = append(c.fns, fn)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for _, fn := range slices.Backward(fns) {
		fn()
	}
}

// child is a process the drill started and waits for.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it ended, once done is closed
}

// cleanEnv is our environment without the settings that would leak into
// a child's configuration: the drill says everything it means.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PORT" || k == "DATABASE_URL" || k == "LOG_LEVEL" || k == "ADMIN_TOKEN" ||
			strings.HasPrefix(k, "REDIS_") || strings.HasPrefix(k, "ANIGO_") || strings.HasPrefix(k, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// start starts argv with its output appended to logPath. The child has its
// own process group, so that a Ctrl-C reaches the drill alone and it stops
// the children in order, and it is killed if the drill dies.
func start(name, logPath string, argv []string, env []string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the forking thread ends: keep it for the fork.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

// stop ends the child: SIGTERM (and SIGCONT, in case it is frozen), then
// SIGKILL after grace. Stopping an ended child does nothing.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-c.done:
	case <-time.After(grace):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// redisServer is the drill's private redis-server, which it kills,
// restarts on the same port, and freezes.
type redisServer struct {
	port    int
	dir     string
	logPath string
	c       *child
}

// startRedis starts (or restarts) the private Redis, without persistence,
// and waits until it answers PING.
func (r *redisServer) startRedis(ctx context.Context) error {
	argv := []string{"redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir}
	c, err := start("redis", r.logPath, argv, cleanEnv())
	if err != nil {
		return fmt.Errorf("%w (install it: apt-get install redis-server)", err)
	}
	r.c = c
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if pingRedis(addr) {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("private redis-server on port %d exited (%v); see %s", r.port, c.err, r.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("private redis-server on port %d did not answer PING in 10s; see %s", r.port, r.logPath)
		}
	}
}

// kill ends Redis at once, as a crash would, and waits until it is gone.
func (r *redisServer) kill() error {
	if err := r.c.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill redis: %w", err)
	}
	<-r.c.done
	return nil
}

func (r *redisServer) signal(s syscall.Signal) error {
	if err := r.c.cmd.Process.Signal(s); err != nil {
		return fmt.Errorf("redis: %v: %w", s, err)
	}
	return nil
}

func (r *redisServer) stop() {
	if r.c != nil {
		r.c.stop(5 * time.Second)
	}
}

// pingRedis reports whether Redis at addr answers PING within 200 ms.
func pingRedis(addr string) bool {
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

// postgresServer is the drill's private PostgreSQL cluster.
type postgresServer struct {
	bin     string // folder of initdb, pg_ctl, postgres
	dir     string // socket folder; the cluster is in dir/data
	port    int
	logPath string
	cred    *syscall.Credential // the postgres user, when we are root
}

// newestPostgresBin finds the newest /usr/lib/postgresql/<version>/bin
// that has initdb and pg_ctl, or the folder of an initdb on PATH.
func newestPostgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1.0
	for _, d := range dirs {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		if err != nil || v <= bestVersion {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		best, bestVersion = d, v
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL binaries: none under /usr/lib/postgresql/*/bin and no initdb on PATH (install them: apt-get install postgresql)")
}

// postgresCredential is who runs PostgreSQL's programs: initdb refuses
// root, so a root drill runs them as the postgres user, and the cluster's
// folder belongs to that user. It is nil when we are not root.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user: bad uid %q or gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// run runs one of PostgreSQL's programs to its end, output to the log.
func (p *postgresServer) run(ctx context.Context, prog string, args ...string) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, prog), args...)
	cmd.Dir = p.dir
	cmd.Env = cleanEnv("HOME=" + p.dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w; see %s", prog, strings.Join(args, " "), err, p.logPath)
	}
	return nil
}

// initdb creates the cluster in dir/data, trusting local connections.
func (p *postgresServer) initdb(ctx context.Context) error {
	if p.cred != nil {
		if err := os.Chown(p.dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return fmt.Errorf("postgres: chown %s: %w", p.dir, err)
		}
	}
	return p.run(ctx, "initdb", "-D", filepath.Join(p.dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
}

// start starts the cluster on 127.0.0.1:port, its socket in dir, and
// waits until it accepts connections (pg_ctl -w). Durability is off: the
// drill's data is thrown away.
func (p *postgresServer) start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
		p.port, p.dir)
	return p.run(ctx, "pg_ctl", "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "server.log"),
		"-w", "-t", "60", "-o", opts, "start")
}

// stop stops the cluster in mode (fast: disconnect clients and shut down
// cleanly; immediate: abort) and waits until it is down.
func (p *postgresServer) stop(ctx context.Context, mode string) error {
	return p.run(ctx, "pg_ctl", "-D", filepath.Join(p.dir, "data"), "-w", "-t", "60", "-m", mode, "stop")
}

// running reports whether the cluster's postmaster is up.
func (p *postgresServer) running() bool {
	_, err := os.Stat(filepath.Join(p.dir, "data", "postmaster.pid"))
	return err == nil
}

// url is the DATABASE_URL of the drill's database in the cluster.
func (p *postgresServer) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/anigo?sslmode=disable", p.port)
}

// startAniGo starts `anigo serve` and waits for its "listening on" line.
func startAniGo(ctx context.Context, bin, logPath string, env []string) (*child, string, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, "", err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		logf.Close()
		return nil, "", fmt.Errorf("start anigo: %w", err)
	}
	c := &child{name: "anigo", cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if _, a, ok := strings.Cut(line, "listening on "); ok {
				select {
				case addr <- strings.TrimSpace(a):
				default:
				}
			}
		}
	}()
	go func() {
		<-copied // Wait closes the pipe: read it all first
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	select {
	case a := <-addr:
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			c.stop(5 * time.Second)
			return nil, "", fmt.Errorf("anigo: cannot read the address in %q", a)
		}
		return c, net.JoinHostPort("127.0.0.1", port), nil
	case <-c.done:
		return nil, "", fmt.Errorf("anigo serve exited before listening (%v); see %s", c.err, logPath)
	case <-time.After(60 * time.Second):
		c.stop(5 * time.Second)
		return nil, "", fmt.Errorf("anigo serve not listening after 60s; see %s", logPath)
	case <-ctx.Done():
		c.stop(5 * time.Second)
		return nil, "", ctx.Err()
	}
}

// runTo runs argv to its end with its output appended to logPath.
func runTo(ctx context.Context, logPath string, env []string, argv ...string) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w; see %s", strings.Join(argv, " "), err, logPath)
	}
	return nil
}
