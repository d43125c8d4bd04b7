// Package devproc runs child processes for the benchmark and the drill:
// servers that say where they listen, a private redis-server to kill and
// freeze, programs run to their end, and what /proc says about them.
//
// Every child has its own process group, so that a Ctrl-C reaches the
// parent alone and it stops the children in order, and is killed when the
// parent dies.
package devproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// CleanEnv is our environment without the settings that would leak into a
// child's configuration (PORT, DATABASE_URL, LOG_LEVEL, ADMIN_TOKEN,
// GOMAXPROCS, REDIS_*, ANIGO_*, PG*), followed by extra: whoever runs the
// bench or the drill must not change what it measures.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PORT", k == "DATABASE_URL", k == "LOG_LEVEL", k == "ADMIN_TOKEN", k == "GOMAXPROCS",
			strings.HasPrefix(k, "REDIS_"), strings.HasPrefix(k, "ANIGO_"), strings.HasPrefix(k, "PG"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Command builds the command for argv with exactly env, in its own process
// group and killed (SIGKILL) when the parent dies. Start it with Start. An
// empty argv gives a command whose start fails.
func Command(argv, env []string) *exec.Cmd {
	var cmd *exec.Cmd
	if len(argv) == 0 {
		cmd = &exec.Cmd{Err: errors.New("devproc: empty command line")}
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Child is a started process that is waited for in the background.
type Child struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	err    error     // how it ended, once done is closed
	closer io.Closer // its log, closed when it ends; may be nil
}

// Start starts cmd (usually from Command, with its input and output set)
// and waits for it in the background. The error, if the start fails, says
// name.
func Start(name string, cmd *exec.Cmd) (*Child, error) {
	return launch(name, cmd, nil, nil)
}

// launch starts cmd; once it has ended, and drained is closed (when not
// nil: Wait closes the pipes, which must be read to their end first), it
// closes closer and then done.
func launch(name string, cmd *exec.Cmd, closer io.Closer, drained <-chan struct{}) (*Child, error) {
	// Pdeathsig fires when the thread that forked ends, not the process:
	// keep the thread for the fork so that it is not one about to exit.
	runtime.LockOSThread()
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &Child{name: name, cmd: cmd, done: make(chan struct{}), closer: closer}
	go func() {
		if drained != nil {
			<-drained
		}
		c.err = cmd.Wait()
		if c.closer != nil {
			c.closer.Close()
		}
		close(c.done)
	}()
	return c, nil
}

// openLog opens logPath for appending, creating it.
func openLog(logPath string) (*os.File, error) {
	return os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

// StartLogged starts argv with exactly env, its output appended to
// logPath. The error says name, and why the log or the start failed.
func StartLogged(name, logPath string, argv, env []string) (*Child, error) {
	logf, err := openLog(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := Command(argv, env)
	cmd.Stdout, cmd.Stderr = logf, logf
	return launch(name, cmd, logf, nil)
}

// Name is the name the child was started with.
func (c *Child) Name() string { return c.name }

// Pid is the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done is closed when the child has ended.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is how the child ended (nil for exit status 0): valid once Done is
// closed, nil before.
func (c *Child) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Signal sends sig to the child. The error is os.ErrProcessDone once it
// has been waited for, or the kill(2) error.
func (c *Child) Signal(sig os.Signal) error {
	if err := c.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: %v: %w", c.name, sig, err)
	}
	return nil
}

// Kill ends the child at once (SIGKILL), as a crash would, and waits
// until it is gone. Killing an ended child does nothing.
func (c *Child) Kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// Stop ends the child: SIGTERM (and SIGCONT, in case it is frozen), then
// SIGKILL after grace, and waits for it. Stopping an ended child does
// nothing.
func (c *Child) Stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Process.Signal(syscall.SIGCONT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.Kill()
	}
}

// Run runs argv with exactly env to its end, its output appended to
// logPath, and kills it when ctx ends. The error names the command line
// and the log: the exit error, or ctx's error (errors.Is works) when ctx
// ended it.
func Run(ctx context.Context, logPath string, argv, env []string) error {
	c, err := StartLogged(strings.Join(argv, " "), logPath, argv, env)
	if err != nil {
		return err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		c.Kill()
		return fmt.Errorf("%s: %w", c.name, ctx.Err())
	}
	if c.err != nil {
		return fmt.Errorf("%s: %w; see %s", c.name, c.err, logPath)
	}
	return nil
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1. Another
// process may take it before the caller does; the error is the listen's.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
