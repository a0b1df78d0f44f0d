package weaviate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// Options configures a Client.
type Options struct {
	Config    Config
	HTTP      *http.Client  // default: 60 s timeout
	Log       *slog.Logger  // default: discard
	Retries   int           // attempts after the first for a failed request (default 5)
	Backoff   time.Duration // first retry delay, doubled each time with jitter (default 200 ms)
	BatchSize int           // objects per batch request (default 500)
	Parallel  int           // batch requests in flight (default 2)
}

// Client talks to one Weaviate collection.
type Client struct {
	cfg  Config
	opt  Options
	http *http.Client
	log  *slog.Logger
	base string
}

// New returns a client for the collection named by opt.Config; it makes
// no request.
func New(opt Options) *Client {
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Retries <= 0 {
		opt.Retries = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 200 * time.Millisecond
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 2
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	return &Client{cfg: opt.Config, opt: opt, http: opt.HTTP, log: opt.Log, base: "http://" + opt.Config.Host}
}

// Config returns the collection's configuration.
func (c *Client) Config() Config { return c.cfg }

// ObjectID is the UUID of a face's object: derived from the collection and
// the face id, so a write repeated after a timeout replaces, never duplicates.
func (c *Client) ObjectID(faceID int64) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("facesearch:"+c.cfg.Collection+":"+strconv.FormatInt(faceID, 10))).String()
}

// Face is one face's object.
type Face struct {
	ID      int64
	Person  string
	Image   string // path relative to the dataset root
	Primary bool
	Digest  string // content digest: the object is rewritten when it changes
	Vector  []float32
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("weaviate %s %s: HTTP %d: %s", e.Method, e.Path, e.Code, strings.TrimSpace(e.Body))
}

// retryable reports whether a failed request may succeed when repeated.
func retryable(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// do sends one request and decodes a JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("weaviate %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("weaviate %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(b) > 500 {
			b = b[:500]
		}
		return &StatusError{method, path, resp.StatusCode, string(b)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("weaviate %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// retry runs f until it succeeds, fails for good, or the attempts run out,
// sleeping with exponential backoff and jitter in between.
func (c *Client) retry(ctx context.Context, what string, f func() error) error {
	delay := c.opt.Backoff
	for attempt := 0; ; attempt++ {
		err := f()
		if err == nil || !retryable(err) || attempt >= c.opt.Retries {
			if err != nil && attempt > 0 {
				return fmt.Errorf("%s (after %d attempts): %w", what, attempt+1, err)
			}
			return err
		}
		d := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		c.log.Warn("weaviate request failed; retrying", "what", what, "attempt", attempt+1, "in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-time.After(d):
		}
		delay *= 2
	}
}

// graphql runs a GraphQL query; GraphQL errors are errors.
func (c *Client) graphql(ctx context.Context, query string, data any) error {
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/graphql", map[string]string{"query": query}, &resp); err != nil {
		return err
	}
	if len(resp.Errors) > 0 {
		msgs := make([]string, len(resp.Errors))
		for i, e := range resp.Errors {
			msgs[i] = e.Message
		}
		return fmt.Errorf("weaviate %s: %s", c.cfg.Collection, strings.Join(msgs, "; "))
	}
	return json.Unmarshal(resp.Data, data)
}

// Ready waits until the node answers /v1/.well-known/ready or ctx ends.
func (c *Client) Ready(ctx context.Context) error {
	for {
		err := c.do(ctx, http.MethodGet, "/v1/.well-known/ready", nil, nil)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("weaviate %s not ready: %w", c.cfg.Host, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type classJSON struct {
	Class             string         `json:"class"`
	Vectorizer        string         `json:"vectorizer"`
	VectorIndexType   string         `json:"vectorIndexType"`
	VectorIndexConfig map[string]any `json:"vectorIndexConfig"`
	ShardingConfig    struct {
		DesiredCount int `json:"desiredCount"`
		ActualCount  int `json:"actualCount,omitempty"`
	} `json:"shardingConfig"`
	ReplicationConfig struct {
		Factor       int  `json:"factor"`
		AsyncEnabled bool `json:"asyncEnabled"`
	} `json:"replicationConfig"`
	Properties []propJSON `json:"properties"`
}

type propJSON struct {
	Name            string   `json:"name"`
	DataType        []string `json:"dataType"`
	Tokenization    string   `json:"tokenization,omitempty"`
	IndexFilterable *bool    `json:"indexFilterable,omitempty"`
	IndexSearchable *bool    `json:"indexSearchable,omitempty"`
}

func (c *Client) classDef() classJSON {
	f, t := false, true
	cl := classJSON{Class: c.cfg.Collection, Vectorizer: "none", VectorIndexType: c.cfg.Index}
	vic := map[string]any{"distance": "cosine"}
	switch c.cfg.Compression {
	case "":
		vic["skipDefaultQuantization"] = true
	case "rq":
		vic["rq"] = map[string]any{"enabled": true, "bits": 8}
	case "bq":
		vic["bq"] = map[string]any{"enabled": true}
	}
	cl.VectorIndexConfig = vic
	cl.ShardingConfig.DesiredCount = c.cfg.Shards
	cl.ReplicationConfig.Factor = c.cfg.Replicas
	// Without async replication a node that was down misses the writes made
	// meanwhile (measured on v1.35.2).
	cl.ReplicationConfig.AsyncEnabled = c.cfg.Replicas > 1
	text := func(name string) propJSON {
		return propJSON{Name: name, DataType: []string{"text"}, Tokenization: "field", IndexFilterable: &f, IndexSearchable: &f}
	}
	cl.Properties = []propJSON{
		{Name: "faceId", DataType: []string{"int"}, IndexFilterable: &t},
		text("person"), text("image"), text("digest"),
		{Name: "primary", DataType: []string{"boolean"}, IndexFilterable: &f},
	}
	return cl
}

// Ensure creates the collection if it does not exist (reset: drops it
// first). An existing collection must have the configured index type,
// shard count and replication factor.
func (c *Client) Ensure(ctx context.Context, reset bool) error {
	path := "/v1/schema/" + c.cfg.Collection
	if reset {
		err := c.retry(ctx, "drop collection", func() error { return c.do(ctx, http.MethodDelete, path, nil, nil) })
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) || se.Code != http.StatusNotFound {
				return fmt.Errorf("drop collection %s: %w", c.cfg.Collection, err)
			}
		}
	}
	var have classJSON
	err := c.retry(ctx, "read collection", func() error { return c.do(ctx, http.MethodGet, path, nil, &have) })
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		def := c.classDef()
		if err := c.retry(ctx, "create collection", func() error { return c.do(ctx, http.MethodPost, "/v1/schema", def, nil) }); err != nil {
			return fmt.Errorf("create collection %s: %w", c.cfg.Collection, err)
		}
		c.log.Info("created weaviate collection", "collection", c.cfg.Collection, "index", c.cfg.Index, "shards", c.cfg.Shards, "replicas", c.cfg.Replicas)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read collection %s: %w", c.cfg.Collection, err)
	}
	if have.Class == "" { // an empty 200 answer
		return fmt.Errorf("read collection %s: empty answer", c.cfg.Collection)
	}
	if have.VectorIndexType != c.cfg.Index || have.ShardingConfig.DesiredCount != c.cfg.Shards || have.ReplicationConfig.Factor != c.cfg.Replicas {
		return fmt.Errorf("collection %s exists with index %s, %d shards, replication %d; asked for %s, %d, %d (use --rebuild-vectors to recreate it)",
			c.cfg.Collection, have.VectorIndexType, have.ShardingConfig.DesiredCount, have.ReplicationConfig.Factor, c.cfg.Index, c.cfg.Shards, c.cfg.Replicas)
	}
	return nil
}

// Put writes the faces in batches, Parallel batches at a time, retrying the
// objects of a batch that failed (the UUIDs are fixed, so a retried object
// is replaced in place).
func (c *Client) Put(ctx context.Context, faces []Face) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opt.Parallel)
	for start := 0; start < len(faces); start += c.opt.BatchSize {
		batch := faces[start:min(start+c.opt.BatchSize, len(faces))]
		g.Go(func() error { return c.putBatch(ctx, batch) })
	}
	return g.Wait()
}

type objectJSON struct {
	Class      string         `json:"class"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
	Vector     []float32      `json:"vector"`
}

func (c *Client) putBatch(ctx context.Context, faces []Face) error {
	todo := faces
	delay := c.opt.Backoff
	for attempt := 0; ; attempt++ {
		objs := make([]objectJSON, len(todo))
		for i, f := range todo {
			objs[i] = objectJSON{Class: c.cfg.Collection, ID: c.ObjectID(f.ID), Vector: f.Vector, Properties: map[string]any{
				"faceId": f.ID, "person": f.Person, "image": f.Image, "primary": f.Primary, "digest": f.Digest,
			}}
		}
		var resp []struct {
			ID     string `json:"id"`
			Result struct {
				Errors *struct {
					Error []struct {
						Message string `json:"message"`
					} `json:"error"`
				} `json:"errors"`
			} `json:"result"`
		}
		err := c.do(ctx, http.MethodPost, "/v1/batch/objects?consistency_level="+c.cfg.Consistency, map[string]any{"objects": objs}, &resp)
		var failed []Face
		if err == nil {
			byID := make(map[string]Face, len(todo))
			for _, f := range todo {
				byID[c.ObjectID(f.ID)] = f
			}
			for _, r := range resp {
				if r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
					if f, ok := byID[r.ID]; ok {
						failed = append(failed, f)
					}
					err = fmt.Errorf("weaviate batch: face %d: %s", byID[r.ID].ID, r.Result.Errors.Error[0].Message)
				}
			}
			if len(resp) != len(todo) && err == nil {
				err, failed = fmt.Errorf("weaviate batch: %d results for %d objects", len(resp), len(todo)), todo
			}
		} else {
			if !retryable(err) {
				return fmt.Errorf("write %d faces: %w", len(todo), err)
			}
			failed = todo
		}
		if len(failed) == 0 {
			return nil
		}
		if attempt >= c.opt.Retries {
			return fmt.Errorf("write %d faces (after %d attempts): %w", len(failed), attempt+1, err)
		}
		d := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		c.log.Warn("weaviate batch incomplete; retrying the failed objects", "failed", len(failed), "of", len(todo), "in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(d):
		}
		delay *= 2
		todo = failed
	}
}

// Digests returns every stored face id with its digest, reading the
// collection with a cursor.
func (c *Client) Digests(ctx context.Context) (map[int64]string, error) {
	out := map[int64]string{}
	after := ""
	for {
		q := url.Values{"class": {c.cfg.Collection}, "limit": {"2000"}}
		if after != "" {
			q.Set("after", after)
		}
		var page struct {
			Objects []struct {
				ID         string `json:"id"`
				Properties struct {
					FaceID json.Number `json:"faceId"`
					Digest string      `json:"digest"`
				} `json:"properties"`
			} `json:"objects"`
		}
		if err := c.retry(ctx, "list objects", func() error { return c.do(ctx, http.MethodGet, "/v1/objects?"+q.Encode(), nil, &page) }); err != nil {
			return nil, fmt.Errorf("list %s: %w", c.cfg.Collection, err)
		}
		for _, o := range page.Objects {
			id, err := o.Properties.FaceID.Int64()
			if err != nil {
				return nil, fmt.Errorf("list %s: object %s has no face id", c.cfg.Collection, o.ID)
			}
			out[id] = o.Properties.Digest
		}
		if len(page.Objects) == 0 {
			return out, nil
		}
		after = page.Objects[len(page.Objects)-1].ID
	}
}

// Delete removes the faces' objects (absent ones are fine).
func (c *Client) Delete(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		path := "/v1/objects/" + c.cfg.Collection + "/" + c.ObjectID(id) + "?consistency_level=" + c.cfg.Consistency
		err := c.retry(ctx, "delete object", func() error { return c.do(ctx, http.MethodDelete, path, nil, nil) })
		var se *StatusError
		if err != nil && !(errors.As(err, &se) && se.Code == http.StatusNotFound) {
			return fmt.Errorf("delete face %d: %w", id, err)
		}
	}
	return nil
}

// Count returns the number of objects (Aggregate meta count: /v1/nodes'
// object counts lag behind writes).
func (c *Client) Count(ctx context.Context) (int64, error) {
	var data struct {
		Aggregate map[string][]struct {
			Meta struct {
				Count int64 `json:"count"`
			} `json:"meta"`
		} `json:"Aggregate"`
	}
	q := fmt.Sprintf("{Aggregate{%s{meta{count}}}}", c.cfg.Collection)
	if err := c.retry(ctx, "count", func() error { return c.graphql(ctx, q, &data) }); err != nil {
		return 0, fmt.Errorf("count %s: %w", c.cfg.Collection, err)
	}
	rows := data.Aggregate[c.cfg.Collection]
	if len(rows) != 1 {
		return 0, fmt.Errorf("count %s: unexpected answer", c.cfg.Collection)
	}
	return rows[0].Meta.Count, nil
}

// Has reports whether the node named node holds the face's object itself
// (a read at consistency ONE from that node: used to see a restarted node
// catch up).
func (c *Client) Has(ctx context.Context, node string, faceID int64) (bool, error) {
	path := "/v1/objects/" + c.cfg.Collection + "/" + c.ObjectID(faceID) + "?node_name=" + url.QueryEscape(node)
	err := c.do(ctx, http.MethodGet, path, nil, nil)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return false, nil
	}
	return err == nil, err
}

// Node is one cluster member as /v1/nodes reports it.
type Node struct {
	Name   string
	Status string  // HEALTHY, UNHEALTHY, UNAVAILABLE, TIMEOUT...
	Shards []Shard // the collection's shards held by the node
}

// Shard is one replica of a shard on a node.
type Shard struct {
	Name           string
	Objects        int64  // objectCount (lags behind writes)
	IndexingStatus string // vectorIndexingStatus: READY, LAZY_LOADING, INDEXING...
	QueueLength    int64  // vectorQueueLength: vectors not yet in the index
	Loaded         bool
}

// Nodes reads /v1/nodes for the collection.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var resp struct {
		Nodes []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
			Shards []struct {
				Class          string `json:"class"`
				Name           string `json:"name"`
				ObjectCount    int64  `json:"objectCount"`
				IndexingStatus string `json:"vectorIndexingStatus"`
				QueueLength    int64  `json:"vectorQueueLength"`
				Loaded         bool   `json:"loaded"`
			} `json:"shards"`
		} `json:"nodes"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/nodes/"+c.cfg.Collection+"?output=verbose", nil, &resp); err != nil {
		return nil, err
	}
	out := make([]Node, len(resp.Nodes))
	for i, n := range resp.Nodes {
		out[i] = Node{Name: n.Name, Status: n.Status}
		for _, s := range n.Shards {
			if s.Class == c.cfg.Collection {
				out[i].Shards = append(out[i].Shards, Shard{Name: s.Name, Objects: s.ObjectCount, IndexingStatus: s.IndexingStatus, QueueLength: s.QueueLength, Loaded: s.Loaded})
			}
		}
	}
	return out, nil
}

// ErrIncomplete is returned (wrapped) when some shard cannot answer at the
// configured consistency: a search then would silently miss faces.
var ErrIncomplete = errors.New("vector store incomplete")

// Health checks, before a search, that every shard of the collection has
// enough live replicas for the read consistency; it returns an error
// wrapping ErrIncomplete naming the nodes down otherwise.
func (c *Client) Health(ctx context.Context) error {
	var def classJSON
	if err := c.retry(ctx, "read collection", func() error { return c.do(ctx, http.MethodGet, "/v1/schema/"+c.cfg.Collection, nil, &def) }); err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return fmt.Errorf("%w: collection %s does not exist on %s (refill it from the catalog: facesearch index --rebuild-vectors)", ErrIncomplete, c.cfg.Collection, c.cfg.Host)
		}
		return fmt.Errorf("%w: %s: %v", ErrIncomplete, c.cfg.Host, err)
	}
	// Right after a node dies /v1/nodes fails (HTTP 500 naming it) until
	// the membership drops it, a few seconds: retried with backoff.
	var nodes []Node
	err := c.retry(ctx, "cluster nodes", func() error {
		var err error
		nodes, err = c.Nodes(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrIncomplete, c.cfg.Host, err)
	}
	live := map[string]int{}
	var down []string
	for _, n := range nodes {
		if n.Status != "HEALTHY" {
			down = append(down, n.Name+" "+n.Status)
			continue
		}
		for _, s := range n.Shards {
			live[s.Name]++
		}
	}
	shards := def.ShardingConfig.ActualCount
	if shards == 0 {
		shards = def.ShardingConfig.DesiredCount
	}
	need := c.cfg.required()
	var short []string
	for s, n := range live {
		if n < need {
			short = append(short, fmt.Sprintf("shard %s has %d of the %d replicas a %s read needs", s, n, need, c.cfg.Consistency))
		}
	}
	if missing := shards - len(live); missing > 0 {
		short = append(short, fmt.Sprintf("%d of %d shards have no live replica", missing, shards))
	}
	if len(short) > 0 {
		sort.Strings(short)
		why := "a node left the cluster"
		if len(down) > 0 {
			why = "nodes down: " + strings.Join(down, ", ")
		}
		return fmt.Errorf("%w: collection %s: %s (%s); not answering with partial results", ErrIncomplete, c.cfg.Collection, strings.Join(short, "; "), why)
	}
	if len(down) > 0 {
		c.log.Warn("weaviate nodes down; every shard still has enough replicas", "down", strings.Join(down, ", "))
	}
	return nil
}

// Hit is one search result.
type Hit struct {
	FaceID     int64
	Similarity float32 // cosine similarity (1 - cosine distance)
}

// Search returns the k faces nearest to q (best first). It does not check
// health; see Health.
func (c *Client) Search(ctx context.Context, q []float32, k int) ([]Hit, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "{Get{%s(limit:%d,", c.cfg.Collection, k)
	if c.cfg.Replicas > 1 { // the argument exists only on replicated collections
		fmt.Fprintf(&b, "consistencyLevel:%s,", c.cfg.Consistency)
	}
	b.WriteString("nearVector:{vector:[")
	for i, x := range q {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteString("]}){faceId _additional{distance}}}}")
	var data struct {
		Get map[string][]struct {
			FaceID     int64 `json:"faceId"`
			Additional struct {
				Distance float64 `json:"distance"`
			} `json:"_additional"`
		} `json:"Get"`
	}
	if err := c.graphql(ctx, b.String(), &data); err != nil {
		return nil, fmt.Errorf("search %s: %w", c.cfg.Collection, err)
	}
	rows := data.Get[c.cfg.Collection]
	out := make([]Hit, len(rows))
	for i, r := range rows {
		out[i] = Hit{FaceID: r.FaceID, Similarity: float32(1 - r.Additional.Distance)}
	}
	return out, nil
}
