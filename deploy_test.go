package anigo_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// No Docker engine runs where the tests run, so the deployment files are
// checked statically: docker-compose validates the compose file, and these
// tests hold both files to what the README promises.

type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Ports       []any             `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Command     []string          `yaml:"command"`
		Volumes     []any             `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// compose runs `docker-compose config` with extra environment and parses
// the resolved file.
func compose(t *testing.T, env ...string) composeFile {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose is not installed: make test installs it (apt-get install docker-compose)")
	}
	cmd := exec.Command("docker-compose", "-f", "docker-compose.yml", "config")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
	}
	var f composeFile
	if err := yaml.Unmarshal(out, &f); err != nil {
		t.Fatalf("parse resolved compose file: %v", err)
	}
	return f
}

func TestComposeFile(t *testing.T) {
	f := compose(t, "REDIS_PASSWORD=", "ANIGO_DATASET=")
	app, pg, redis := f.Services["app"], f.Services["postgres"], f.Services["redis"]

	if app.Build == nil {
		t.Error("app: no build section")
	}
	if !containsAny(app.Ports, "3000") {
		t.Errorf("app ports = %v, want 3000", app.Ports)
	}
	for _, dep := range []string{"postgres", "redis"} {
		if got := app.DependsOn[dep].Condition; got != "service_healthy" {
			t.Errorf("app depends_on %s condition = %q, want service_healthy", dep, got)
		}
	}
	if got := app.Environment["ANIGO_DATASET"]; !strings.HasPrefix(got, "https://") || !strings.HasSuffix(got, ".json.zst") {
		t.Errorf("app ANIGO_DATASET default = %q, want the anime-offline-database release URL", got)
	}
	if !containsAny(app.Volumes, "/data") {
		t.Errorf("app volumes = %v, want a mounted /data for a local dataset", app.Volumes)
	}

	if !regexp.MustCompile(`^postgres:\d+\.\d+`).MatchString(pg.Image) {
		t.Errorf("postgres image = %q, want a pinned version", pg.Image)
	}
	if !containsAny(pg.Volumes, "/var/lib/postgresql/data") {
		t.Errorf("postgres volumes = %v, want a named data volume", pg.Volumes)
	}
	if !strings.Contains(strings.Join(pg.Healthcheck.Test, " "), "pg_isready") {
		t.Errorf("postgres healthcheck = %v, want pg_isready", pg.Healthcheck.Test)
	}

	if redis.Image != "redis:7-alpine" {
		t.Errorf("redis image = %q, want redis:7-alpine", redis.Image)
	}
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--maxmemory 256mb", "--maxmemory-policy allkeys-lru"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if !containsAny(redis.Ports, "6379") || !containsAny(redis.Volumes, "/data") {
		t.Errorf("redis ports %v volumes %v, want 6379 and a data volume", redis.Ports, redis.Volumes)
	}
	if !strings.Contains(strings.Join(redis.Healthcheck.Test, " "), "redis-cli") {
		t.Errorf("redis healthcheck = %v, want redis-cli ping", redis.Healthcheck.Test)
	}
	for _, v := range []string{"pgdata", "redisdata"} {
		if _, ok := f.Volumes[v]; !ok {
			t.Errorf("named volume %s missing", v)
		}
	}
}

func TestComposeRedisPasswordReachesBoth(t *testing.T) {
	f := compose(t, "REDIS_PASSWORD=s3cret")
	if got := f.Services["app"].Environment["REDIS_PASSWORD"]; got != "s3cret" {
		t.Errorf("app REDIS_PASSWORD = %q, want s3cret", got)
	}
	if got := f.Services["redis"].Environment["REDIS_PASSWORD"]; got != "s3cret" {
		t.Errorf("redis REDIS_PASSWORD = %q, want s3cret", got)
	}
	if cmd := strings.Join(f.Services["redis"].Command, " "); !strings.Contains(cmd, "--requirepass") {
		t.Errorf("redis command %q never sets --requirepass", cmd)
	}
}

func TestEnvExampleCoversCompose(t *testing.T) {
	example, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+)[:}-]`).FindAllSubmatch(raw, -1) {
		if name := string(m[1]); !regexp.MustCompile(`(?m)^` + name + `=`).Match(example) {
			t.Errorf(".env.example does not document %s, which docker-compose.yml reads", name)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	checks := []struct {
		what    string
		pattern string
	}{
		{"a build stage on go.mod's Go version", `(?m)^FROM golang:` + regexp.QuoteMeta(string(goVersion[1])) + `\S* AS build`},
		{"npm ci for htmx", `npm ci`},
		{"templ generation", `go tool templ generate`},
		{"a trimmed static build", `CGO_ENABLED=0 go build -trimpath`},
		{"a distroless or alpine final stage", `(?m)^FROM (gcr\.io/distroless/\S+|alpine\S*)\s*$`},
		{"a non-root user", `(?m)^USER (nonroot|\d{4,})`},
		{"port 3000", `(?m)^EXPOSE 3000$`},
		{"a health check", `(?m)^HEALTHCHECK .*healthcheck`},
	}
	for _, c := range checks {
		if !regexp.MustCompile(c.pattern).MatchString(df) {
			t.Errorf("Dockerfile lacks %s (/%s/)", c.what, c.pattern)
		}
	}
}

// containsAny reports whether any entry of a compose list (short strings
// or long-form maps) mentions want.
func containsAny(list []any, want string) bool {
	for _, v := range list {
		if strings.Contains(fmt.Sprint(v), want) {
			return true
		}
	}
	return false
}
