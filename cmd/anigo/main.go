// Command anigo runs the AniGo catalog site and its chores:
//
//	anigo serve [-import-if-empty]   serve the site on $PORT
//	anigo migrate                    apply the embedded schema migrations
//	anigo import FILE|URL            load a catalog (CSV or anime-offline-database JSON)
//	anigo cache clear [FRAGMENT]     drop cached fragments
//	anigo cache stats                show what the cache holds
//	anigo healthcheck                exit 0 when the local server's /healthz answers
//
// It is the only package that sees every concrete type: it wires the
// configuration, the store, the cache and the handlers together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

const usage = `usage: anigo <command> [arguments]

commands:
  serve [-import-if-empty]  serve the site on $PORT (default 3000)
  migrate                   apply the embedded database migrations
  import FILE|URL           import a catalog: the Kaggle anime.csv, or
                            anime-offline-database JSON / JSON Lines (.zst too)
  cache clear [FRAGMENT]    remove cached fragments (all, or one of
                            popular, catalog, count, ranking, anime)
  cache stats               show cache statistics
  healthcheck               check the local server's /healthz (for Docker)

Configuration is read from the environment; see README.md.`

// errUsage marks a command line that could not be understood.
var errUsage = errors.New("see 'anigo help'")

func main() {
	// go-redis logs each failed dial through the standard log package; the
	// cache's breaker already says, once, that Redis is away.
	redis.SetLogger(quietRedisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "anigo:", err)
		os.Exit(1)
	}
}

type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

// run is the whole program: tests call it with their own arguments,
// environment and writers, and cancel ctx to stop a server.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("no command given: %w", errUsage)
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, getenv, stdout)
	case "import":
		if len(args) != 1 {
			return fmt.Errorf("import takes one FILE or URL, e.g. anigo import ./anime.csv: %w", errUsage)
		}
		return runImportCommand(ctx, args[0], getenv, stdout, stderr)
	case "cache":
		return runCacheCommand(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, getenv)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
	}
}
