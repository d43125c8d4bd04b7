package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Pool bounds of the server (postgres.maxConns and cache.poolSize): the
// connections it may legitimately hold after a run, whatever it held
// before. One more PostgreSQL connection is the catalog version watch.
const (
	maxPostgresConns = 16 + 1
	maxRedisConns    = 64
)

// fdCensus is what a process's file descriptors are.
type fdCensus struct {
	FDs           int `json:"fds"`
	PostgresConns int `json:"postgres_conns"`
	RedisConns    int `json:"redis_conns"`
}

// other is every descriptor that no pool accounts for: the ones that must
// come back to where they were.
func (c fdCensus) other() int { return c.FDs - c.PostgresConns - c.RedisConns }

// census reads /proc for pid's descriptors and its TCP connections to the
// PostgreSQL and Redis ports.
func census(pid, postgresPort, redisPort int) (fdCensus, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fdCensus{}, fmt.Errorf("census of pid %d: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, e := range entries {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	c := fdCensus{FDs: len(entries)}
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue // no IPv6, for one
		}
		peers := peerPorts(bufio.NewScanner(f), inodes)
		f.Close()
		c.PostgresConns += peers[postgresPort]
		c.RedisConns += peers[redisPort]
	}
	return c, nil
}

// peerPorts counts the established connections of a /proc/net/tcp table
// whose socket inode is in inodes, by remote port.
func peerPorts(sc *bufio.Scanner, inodes map[string]bool) map[int]int {
	out := map[int]int{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
		if len(f) < 10 || f[3] != "01" || !inodes[f[9]] {
			continue
		}
		_, hexPort, ok := strings.Cut(f[2], ":")
		if !ok {
			continue
		}
		if port, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
			out[int(port)]++
		}
	}
	return out
}
