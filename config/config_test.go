package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load(empty) error = %v", err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.Port != 3000 || c.Dataset != DefaultDataset {
		t.Errorf("defaults = %q %d %q", c.DatabaseURL, c.Port, c.Dataset)
	}
	if c.Redis.Addr != "127.0.0.1:6379" || c.Redis.Disabled || c.Redis.URL != "" {
		t.Errorf("redis = %+v, want 127.0.0.1:6379 enabled", c.Redis)
	}
	for name, want := range DefaultTTLs {
		if got := c.TTLs[name]; got != want {
			t.Errorf("TTL %s = %v, want %v", name, got, want)
		}
	}
	if c.Namespace != "anigo:v1" || c.Grace != 5*time.Minute || c.LogLevel != "info" || c.ShowAdult {
		t.Errorf("namespace %q grace %v level %q adult %v", c.Namespace, c.Grace, c.LogLevel, c.ShowAdult)
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PORT": "8080", "ANIGO_TTL_POPULAR": "90s", "ANIGO_TTL_COUNT": "120",
		"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_DB": "3", "REDIS_PASSWORD": "pw",
		"ANIGO_SHOW_ADULT": "true", "LOG_LEVEL": "DEBUG", "ANIGO_CACHE_GRACE": "30s",
	}))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	if c.Port != 8080 || c.TTLs[FragmentPopular] != 90*time.Second || c.TTLs[FragmentCount] != 120*time.Second {
		t.Errorf("port %d popular %v count %v", c.Port, c.TTLs[FragmentPopular], c.TTLs[FragmentCount])
	}
	if c.Redis != (Redis{Addr: "cache:6380", DB: 3, Password: "pw"}) {
		t.Errorf("redis = %+v", c.Redis)
	}
	if !c.ShowAdult || c.LogLevel != "debug" || c.Grace != 30*time.Second {
		t.Errorf("adult %v level %q grace %v", c.ShowAdult, c.LogLevel, c.Grace)
	}
}

func TestLoadRedisURL(t *testing.T) {
	tests := []struct {
		url      string
		disabled bool
		wantURL  string
	}{
		{"off", true, ""},
		{"OFF", true, ""},
		{"redis://:pw@host:6379/2", false, "redis://:pw@host:6379/2"},
		{"rediss://host:6380", false, "rediss://host:6380"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := Load(env(map[string]string{"REDIS_URL": tt.url}))
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if c.Redis.Disabled != tt.disabled || c.Redis.URL != tt.wantURL {
				t.Errorf("redis = %+v, want disabled=%v url=%q", c.Redis, tt.disabled, tt.wantURL)
			}
		})
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"port not a number", "PORT", "abc"},
		{"port too big", "PORT", "70000"},
		{"database scheme", "DATABASE_URL", "mysql://x/y"},
		{"redis scheme", "REDIS_URL", "http://x"},
		{"redis port", "REDIS_PORT", "0"},
		{"redis db", "REDIS_DB", "99"},
		{"ttl junk", "ANIGO_TTL_CATALOG", "soon"},
		{"ttl negative", "ANIGO_TTL_RANKING", "-5s"},
		{"grace junk", "ANIGO_CACHE_GRACE", "x"},
		{"adult junk", "ANIGO_SHOW_ADULT", "maybe"},
		{"log level", "LOG_LEVEL", "loud"},
		{"namespace glob", "ANIGO_CACHE_NAMESPACE", "a*b"},
		{"image host path", "ANIGO_IMAGE_HOSTS", "https://cdn.example.com/images"},
		{"image host scheme", "ANIGO_IMAGE_HOSTS", "cdn.example.com"},
		{"trusted proxy", "ANIGO_TRUSTED_PROXIES", "10.0.0.1, proxy.local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.key: tt.value}))
			if err == nil {
				t.Fatalf("Load(%s=%q) error = nil, want one naming %s", tt.key, tt.value, tt.key)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}
