package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/anigo/anigo/devproc"
	"github.com/anigo/anigo/loadtest"
)

// Cores: servers on one, the load generator on the other, where the
// machine has two and taskset.
const (
	serverCore = "0"
	loadCore   = "1"
)

// serverGrace is how long a server may take to end after SIGTERM.
const serverGrace = 10 * time.Second

// proc is a child process that serves HTTP.
type proc struct {
	*devproc.Child
	base string // http://127.0.0.1:port
}

// pinned returns the command line that runs argv on core, through taskset
// when the machine can pin.
func (b *bench) pinned(core string, argv ...string) []string {
	if b.taskset == "" {
		return argv
	}
	return append([]string{b.taskset, "-c", core}, argv...)
}

// startServer starts a server that prints "listening on ADDR" and waits
// for that line. Its environment is env added to a clean copy of ours
// (the settings of whoever runs the bench must not leak into the
// servers); its output goes to a log file beside the results. The server
// is stopped by the bench's cleanup if the caller does not stop it.
func (b *bench) startServer(ctx context.Context, name string, argv []string, env ...string) (*proc, error) {
	c, base, err := devproc.StartServer(ctx, name, filepath.Join(b.logDir, name+".log"), argv, devproc.CleanEnv(env...))
	if err != nil {
		return nil, err
	}
	p := &proc{Child: c, base: base}
	b.cleanup(p.stop)
	b.say("  %s: pid %d on %s", name, c.Pid(), strings.TrimPrefix(base, "http://"))
	return p, nil
}

// url is the server's address for path.
func (p *proc) url(path string) string { return p.base + path }

// stop ends the server, killing it after serverGrace. Stopping twice is
// fine.
func (p *proc) stop() { p.Stop(serverGrace) }

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
	cmd := devproc.Command(b.pinned(loadCore, b.self, "-load"), devproc.CleanEnv())
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	c, err := devproc.Start("load", cmd)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		c.Kill()
		return nil, ctx.Err()
	}
	if err := c.Err(); err != nil {
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
