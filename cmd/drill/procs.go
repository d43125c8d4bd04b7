package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/anigo/anigo/devproc"
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
	cmd.Env = devproc.CleanEnv("HOME=" + p.dir)
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
