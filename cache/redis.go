package cache

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Client timeouts. go-redis's defaults (5 s timeouts, 3 command retries, 5
// dial attempts) made each request wait 2 s on a refused Redis and up to 9 s
// on a frozen one; with these a dead Redis costs one short timeout, and then
// the breaker stops asking.
const (
	dialTimeout = 200 * time.Millisecond
	ioTimeout   = 100 * time.Millisecond // read and write
	poolTimeout = 100 * time.Millisecond
	// poolSize covers a page's fragments fetched at once for each of a few
	// dozen concurrent requests: a smaller pool made healthy bursts wait.
	poolSize     = 64
	maxIdleConns = 32
)

// RedisOptions say where Redis is: URL when set, else Addr, DB and Password.
type RedisOptions struct {
	URL      string // redis://[user:password@]host:port/db, or rediss:// for TLS
	Addr     string // host:port, used when URL is empty
	DB       int
	Password string
}

// NewRedisClient builds a go-redis client with short timeouts, no retries
// and a small pool. It makes no network call, so it succeeds while Redis is
// down. It returns an error for a URL go-redis cannot parse or when neither
// URL nor Addr is set.
func NewRedisClient(opts RedisOptions) (*redis.Client, error) {
	var o *redis.Options
	switch {
	case opts.URL != "":
		var err error
		if o, err = redis.ParseURL(opts.URL); err != nil {
			// url.Error repeats the URL, password and all: keep only its cause.
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err
			}
			return nil, fmt.Errorf("cache: redis url: %w", err)
		}
	case opts.Addr != "":
		if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
			return nil, fmt.Errorf("cache: redis address %q: %w", opts.Addr, err)
		}
		o = &redis.Options{Addr: opts.Addr, DB: opts.DB, Password: opts.Password}
	default:
		return nil, errors.New("cache: redis: neither URL nor address given")
	}
	o.DialTimeout = dialTimeout
	o.DialerRetries = 1 // attempts, not retries: 0 means go-redis's default of 5
	o.ReadTimeout = ioTimeout
	o.WriteTimeout = ioTimeout
	o.ContextTimeoutEnabled = true // our per-command deadlines apply too
	o.PoolTimeout = poolTimeout
	o.PoolSize = poolSize
	o.MaxIdleConns = maxIdleConns
	o.MaxRetries = -1 // go-redis reads 0 as 3; the breaker is our retry policy
	o.DisableIdentity = true
	// No CLIENT SETINFO or MAINT_NOTIFICATIONS round trips on each new
	// connection: a reconnect is one dial and one HELLO.
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(o), nil
}

// hostPort is the address a client talks to, for log lines.
func hostPort(c *redis.Client) string {
	o := c.Options()
	if o.DB != 0 {
		return o.Addr + "/" + strconv.Itoa(o.DB)
	}
	return o.Addr
}
