package devproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// StartTimeout bounds how long a server may take to say where it listens
// (AniGo runs its migrations first).
const StartTimeout = 60 * time.Second

// stopGrace is how long a server that failed to start gets to end.
const stopGrace = 5 * time.Second

// StartServer starts argv with exactly env and waits until it prints a
// line "... listening on HOST:PORT" on its stdout; its stdout and stderr
// are appended to logPath. It returns the child and its base URL,
// http://127.0.0.1:PORT. The error says the server exited first (with its
// exit error), printed an address it cannot read, did not listen within
// StartTimeout (the child is then stopped), or ctx ended (ctx's error).
func StartServer(ctx context.Context, name, logPath string, argv, env []string) (*Child, string, error) {
	logf, err := openLog(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	cmd := Command(argv, env)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	addr := make(chan string, 1)
	drained := make(chan struct{})
	c, err := launch(name, cmd, logf, drained)
	if err != nil {
		return nil, "", err
	}
	go func() {
		defer close(drained)
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
		// A line too long for the scanner ends it: keep the rest in the
		// log rather than block the server on a full pipe.
		io.Copy(logf, out)
	}()

	t := time.NewTimer(StartTimeout)
	defer t.Stop()
	select {
	case a := <-addr:
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			c.Stop(stopGrace)
			return nil, "", fmt.Errorf("start %s: cannot read the address in %q", name, a)
		}
		return c, "http://" + net.JoinHostPort("127.0.0.1", port), nil
	case <-c.done:
		return nil, "", fmt.Errorf("start %s: exited before listening (%v); see %s", name, c.err, logPath)
	case <-t.C:
		c.Stop(stopGrace)
		return nil, "", fmt.Errorf("start %s: not listening after %v; see %s", name, StartTimeout, logPath)
	case <-ctx.Done():
		c.Stop(stopGrace)
		return nil, "", ctx.Err()
	}
}

// StartAniGo starts `bin serve` with exactly env (give it PORT=0), its
// output appended to logPath, and waits until it listens. It returns the
// child and the server's base URL; the errors are StartServer's.
func StartAniGo(ctx context.Context, bin, logPath string, env []string) (*Child, string, error) {
	return StartServer(ctx, "anigo", logPath, []string{bin, "serve"}, env)
}
