package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/anigo/anigo/loadtest"
)

// Cores: servers on one, the load generator on the other, where the
// machine has two and taskset.
const (
	serverCore = "0"
	loadCore   = "1"
)

// startTimeout bounds a server's start (migrations included).
const startTimeout = 60 * time.Second

// proc is a child process that serves HTTP.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	done chan struct{}
	err  error // how it exited, once done is closed
}

// pinned returns the command line that runs argv on core, through taskset
// when the machine can pin.
func (b *bench) pinned(core string, argv ...string) []string {
	if b.taskset == "" {
		return argv
	}
	return append([]string{b.taskset, "-c", core}, argv...)
}

// command builds a child with env added to a clean copy of ours: the
// settings of whoever runs the bench must not leak into the servers. The
// child is killed when the bench dies, and has its own process group so
// that a Ctrl-C reaches the bench first, which then stops it in order.
func (b *bench) command(ctx context.Context, argv []string, env ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PORT" || k == "DATABASE_URL" || strings.HasPrefix(k, "REDIS_") || strings.HasPrefix(k, "ANIGO_") || k == "GOMAXPROCS" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// startServer starts a server that prints "listening on ADDR" and waits
// for that line. Its stderr goes to a log file beside the results. The
// server is stopped by the bench's cleanup if the caller does not stop it.
func (b *bench) startServer(ctx context.Context, name string, argv []string, env ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(b.logDir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := b.command(ctx, argv, env...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// Pdeathsig fires when the thread that forked exits: keep it alive.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	b.cleanup(p.stop)

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if _, a, ok := strings.Cut(line, "listening on "); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()

	select {
	case a := <-addr:
		_, port, err := net.SplitHostPort(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("start %s: cannot read the address in %q", name, a)
		}
		p.addr = net.JoinHostPort("127.0.0.1", port)
		b.say("  %s: pid %d on %s", name, cmd.Process.Pid, p.addr)
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("start %s: exited before listening (%v); see %s", name, p.err, logf.Name())
	case <-time.After(startTimeout):
		return nil, fmt.Errorf("start %s: not listening after %v; see %s", name, startTimeout, logf.Name())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// url is the server's address for path.
func (p *proc) url(path string) string { return "http://" + p.addr + path }

// pid is the server's process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to end (SIGTERM, and SIGCONT in case it is
// frozen), kills it after 10 s, and waits for it. Stopping twice is fine.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Process.Signal(syscall.SIGCONT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// resetPeakRSS starts a new VmHWM measurement for the process, where the
// kernel allows it (writing 5 to clear_refs), so that each case reports
// its own peak.
func resetPeakRSS(pid int) {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// peakRSS is the process's VmHWM in bytes, or 0 when it cannot be read.
func peakRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// loadSpec is what the bench sends its load process.
type loadSpec struct {
	Warmup  time.Duration    `json:"warmup_ns"`
	Options loadtest.Options `json:"options"`
}

// load runs one load case in a child process on the load core and returns
// its result.
func (b *bench) load(ctx context.Context, spec loadSpec) (*loadtest.Result, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := b.command(ctx, b.pinned(loadCore, b.self, "-load"))
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-waited
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("load: %v: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	var res loadtest.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("load: reading its result: %w", err)
	}
	return &res, nil
}

// runLoad is the load process: options on stdin, result on stdout.
func runLoad(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	var spec loadSpec
	if err := json.NewDecoder(stdin).Decode(&spec); err != nil {
		return fmt.Errorf("load: reading options: %w", err)
	}
	o := spec.Options
	o.Client = loadtest.NewClient(o.Concurrency, cmp.Or(o.Timeout, loadtest.DefaultTimeout))
	if spec.Warmup > 0 {
		w := o
		w.Duration, w.Requests, w.Trace = spec.Warmup, 0, false
		if _, err := loadtest.Run(ctx, w); err != nil {
			return err
		}
	}
	res, err := loadtest.Run(ctx, o)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("load: interrupted")
	}
	return json.NewEncoder(stdout).Encode(res)
}
