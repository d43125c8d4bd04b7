// Package config reads AniGo's settings from environment variables and
// validates them, so that a bad value stops the program at start with a
// message that names the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Fragment names: the cached parts of pages (DESIGN.md).
const (
	FragmentPopular = "popular"
	FragmentCatalog = "catalog"
	FragmentCount   = "count"
	FragmentRanking = "ranking"
	FragmentAnime   = "anime"
)

// DefaultTTLs are the fresh times of each fragment, from the system AniGo
// replaces. ANIGO_TTL_<NAME> overrides one (for example ANIGO_TTL_POPULAR=90s).
var DefaultTTLs = map[string]time.Duration{
	FragmentPopular: 60 * time.Second,
	FragmentCatalog: 300 * time.Second,
	FragmentCount:   600 * time.Second,
	FragmentRanking: 300 * time.Second,
	FragmentAnime:   300 * time.Second,
}

// DefaultDatabaseURL is used when DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/anigo?sslmode=disable"

// DefaultDataset is what `make run` imports into an empty catalog when
// ANIGO_DATASET is not set: the newest anime-offline-database release.
const DefaultDataset = "https://github.com/manami-project/anime-offline-database/releases/latest/download/anime-offline-database-minified.json.zst"

// Config is AniGo's whole configuration.
type Config struct {
	DatabaseURL string
	Port        int
	Dataset     string // path or URL of the catalog to import when empty
	Redis       Redis
	AdminToken  string // "" turns /admin/cache off
	ShowAdult   bool   // list adult (Hentai) titles
	TTLs        map[string]time.Duration
	Grace       time.Duration // how long past fresh a stale fragment may still be served
	Namespace   string        // prefix of every cache key; lets several sites (or tests) share one Redis
	LogLevel    string        // debug, info, warn, error
	ImageHosts  []string      // origins allowed to serve poster images (Content-Security-Policy)
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For names the client; empty means none.
	TrustedProxies []string
}

// Redis says where the fragment cache lives.
type Redis struct {
	Disabled bool   // REDIS_URL=off
	URL      string // a redis:// or rediss:// URL; when set, the fields below come from it
	Addr     string // host:port
	DB       int
	Password string
}

// Load reads the configuration through getenv (os.Getenv in production,
// a map in tests). It returns an error naming every variable whose value
// is wrong and what would be right.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL: DefaultDatabaseURL,
		Port:        3000,
		Dataset:     getenv("ANIGO_DATASET"),
		AdminToken:  getenv("ADMIN_TOKEN"),
		TTLs:        make(map[string]time.Duration, len(DefaultTTLs)),
		Grace:       5 * time.Minute,
		Namespace:   "anigo:v1",
		LogLevel:    "info",
		ImageHosts:  []string{"https://cdn.myanimelist.net"},
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...)))
	}

	if v := getenv("DATABASE_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("DATABASE_URL", "want a URL such as %s", DefaultDatabaseURL)
		}
		c.DatabaseURL = v
	}
	if v := getenv("PORT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			bad("PORT", "%q is not a port number from 0 to 65535", v)
		}
		c.Port = n
	}
	if c.Dataset == "" {
		c.Dataset = DefaultDataset
	}
	if v := getenv("ANIGO_SHOW_ADULT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("ANIGO_SHOW_ADULT", "%q is not true or false", v)
		}
		c.ShowAdult = b
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		switch strings.ToLower(v) {
		case "debug", "info", "warn", "error":
			c.LogLevel = strings.ToLower(v)
		default:
			bad("LOG_LEVEL", "%q is not debug, info, warn or error", v)
		}
	}
	for name, def := range DefaultTTLs {
		c.TTLs[name] = def
		key := "ANIGO_TTL_" + strings.ToUpper(name)
		if v := getenv(key); v != "" {
			d, err := parseDuration(v)
			if err != nil || d <= 0 || d > 24*time.Hour {
				bad(key, "%q is not a duration from 1s to 24h (for example 90s or 5m)", v)
			}
			c.TTLs[name] = d
		}
	}
	if v := getenv("ANIGO_CACHE_GRACE"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 0 || d > 24*time.Hour {
			bad("ANIGO_CACHE_GRACE", "%q is not a duration from 0s to 24h", v)
		}
		c.Grace = d
	}
	if v := getenv("ANIGO_IMAGE_HOSTS"); v != "" {
		c.ImageHosts = strings.Fields(v)
		for _, h := range c.ImageHosts {
			u, err := url.Parse(h)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				bad("ANIGO_IMAGE_HOSTS", "%q is not an origin such as https://cdn.myanimelist.net (separate several with spaces)", h)
			}
		}
	}
	if v := getenv("ANIGO_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = strings.Fields(strings.ReplaceAll(v, ",", " "))
		for _, p := range c.TrustedProxies {
			if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
				bad("ANIGO_TRUSTED_PROXIES", "%q is not an IP address or a CIDR range such as 10.0.0.0/8", p)
			}
		}
	}
	if v := getenv("ANIGO_CACHE_NAMESPACE"); v != "" {
		if strings.ContainsAny(v, " *?[]\r\n") || len(v) > 64 {
			bad("ANIGO_CACHE_NAMESPACE", "%q must be at most 64 characters without spaces or glob characters (*?[])", v)
		}
		c.Namespace = v
	}
	r, rerrs := loadRedis(getenv)
	c.Redis = r
	errs = append(errs, rerrs...)
	return c, errors.Join(errs...)
}

func loadRedis(getenv func(string) string) (Redis, []error) {
	var r Redis
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...)))
	}
	if v := getenv("REDIS_URL"); v != "" {
		if strings.EqualFold(v, "off") {
			return Redis{Disabled: true}, nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("REDIS_URL", "want redis://[:password@]host:port/db, rediss:// for TLS, or off")
			return r, errs
		}
		r.URL = v
		return r, nil
	}
	host, port := getenv("REDIS_HOST"), getenv("REDIS_PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "6379"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		bad("REDIS_PORT", "%q is not a port number from 1 to 65535", port)
	}
	r.Addr = net.JoinHostPort(host, port)
	if v := getenv("REDIS_DB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 15 {
			bad("REDIS_DB", "%q is not a database number from 0 to 15", v)
		}
		r.DB = n
	}
	r.Password = getenv("REDIS_PASSWORD")
	return r, errs
}

// parseDuration accepts Go durations ("90s", "5m") and bare seconds ("90").
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
