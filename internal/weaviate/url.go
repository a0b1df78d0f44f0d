// Package weaviate stores and searches face embeddings in a Weaviate
// collection over Weaviate's REST and GraphQL API (plain net/http: the Go
// client module pulls the whole server module). Objects have deterministic
// UUIDs derived from the face id, so every write is idempotent and a batch
// that timed out can simply be sent again.
package weaviate

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Scheme is the URL scheme naming a Weaviate collection.
const Scheme = "weaviate"

// Index types of a collection.
const (
	IndexFlat = "flat" // exact brute force (no quantization): the default
	IndexHNSW = "hnsw" // approximate graph index
)

// Consistency levels of reads and writes.
const (
	One    = "ONE"
	Quorum = "QUORUM"
	All    = "ALL"
)

// Config names a collection and how it is created, parsed from
// weaviate://HOST:PORT/COLLECTION?shards=3&replicas=3&index=flat&consistency=QUORUM&compression=rq.
type Config struct {
	Host        string // host:port of any node's REST API
	Collection  string // class name (starts with an upper-case letter)
	Shards      int    // desired shard count (default 1)
	Replicas    int    // replication factor (default 1)
	Index       string // IndexFlat (default) or IndexHNSW
	Compression string // "" (none, default), "rq" (rotational quantization, 8 bits) or "bq"
	Consistency string // read/write consistency (default QUORUM)
}

var collectionRe = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,127}$`)

// ParseURL parses a weaviate:// URL.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("vector store %q: %w", s, err)
	}
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("vector store %q: "+format+" (want weaviate://HOST:PORT/Collection[?shards=N&replicas=N&index=flat|hnsw&compression=rq|bq&consistency=ONE|QUORUM|ALL])", append([]any{s}, args...)...)
	}
	if u.Scheme != Scheme {
		return bad("scheme must be %s://", Scheme)
	}
	if u.Host == "" || u.Port() == "" {
		return bad("give HOST:PORT of a node's REST API")
	}
	if u.User != nil {
		return bad("credentials in the URL are not supported")
	}
	c := Config{Host: u.Host, Collection: strings.TrimPrefix(u.Path, "/"), Shards: 1, Replicas: 1, Index: IndexFlat, Consistency: Quorum}
	if !collectionRe.MatchString(c.Collection) {
		return bad("collection %q must start with an upper-case letter and hold only letters, digits and _", c.Collection)
	}
	q := u.Query()
	for k := range q {
		switch k {
		case "shards", "replicas", "index", "compression", "consistency":
		default:
			return bad("unknown option %q", k)
		}
	}
	num := func(key string, dst *int) error {
		v := q.Get(key)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("%s=%q is not a count from 1 to 1024", key, v)
		}
		*dst = n
		return nil
	}
	if err := num("shards", &c.Shards); err != nil {
		return bad("%v", err)
	}
	if err := num("replicas", &c.Replicas); err != nil {
		return bad("%v", err)
	}
	if v := strings.ToLower(q.Get("index")); v != "" {
		if v != IndexFlat && v != IndexHNSW {
			return bad("index=%q: flat or hnsw", v)
		}
		c.Index = v
	}
	if v := strings.ToLower(q.Get("compression")); v != "" && v != "none" {
		if v != "rq" && v != "bq" {
			return bad("compression=%q: none, rq or bq", v)
		}
		c.Compression = v
	}
	if v := strings.ToUpper(q.Get("consistency")); v != "" {
		if v != One && v != Quorum && v != All {
			return bad("consistency=%q: ONE, QUORUM or ALL", v)
		}
		c.Consistency = v
	}
	if c.Consistency == One && c.Replicas > 1 {
		// Measured on v1.35.2: a node restarted after SIGKILL answered ONE
		// reads with faces missing and no error while catching up.
		return bad("consistency=ONE with %d replicas can answer from a replica that is still catching up, silently missing faces; use QUORUM or ALL", c.Replicas)
	}
	return c, nil
}

// String is the canonical URL of c.
func (c Config) String() string {
	q := url.Values{}
	q.Set("shards", strconv.Itoa(c.Shards))
	q.Set("replicas", strconv.Itoa(c.Replicas))
	q.Set("index", c.Index)
	if c.Compression != "" {
		q.Set("compression", c.Compression)
	}
	q.Set("consistency", c.Consistency)
	return (&url.URL{Scheme: Scheme, Host: c.Host, Path: "/" + c.Collection, RawQuery: q.Encode()}).String()
}

// Exact reports whether searches are exact (flat, uncompressed).
func (c Config) Exact() bool { return c.Index == IndexFlat && c.Compression == "" }

// Describe names the index as IndexInfo.Resolved does ("weaviate:flat/3x3").
func (c Config) Describe() string {
	s := "weaviate:" + c.Index
	if c.Compression != "" {
		s += "+" + c.Compression
	}
	return fmt.Sprintf("%s/%dshards/%dreplicas", s, c.Shards, c.Replicas)
}

// required is how many live replicas of a shard a read at the configured
// consistency needs.
func (c Config) required() int {
	switch c.Consistency {
	case One:
		return 1
	case All:
		return c.Replicas
	}
	return c.Replicas/2 + 1
}
