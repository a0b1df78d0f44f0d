// Package cluster starts and stops a local Weaviate cluster of N nodes on
// 127.0.0.1 from the weaviate-server binary, for tests, benchmarks and
// scripts/cluster.sh. gRPC, the cluster data port and pprof of
// weaviate-server bind to every interface whatever --host says, so callers
// should run it inside a private network namespace (see InPrivateNetns).
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Version is the Weaviate release facesearch is tested with.
const Version = "v1.35.2"

// Module is the Go package of the server.
const Module = "github.com/weaviate/weaviate/cmd/weaviate-server"

// Options configures a cluster.
type Options struct {
	Binary   string // weaviate-server
	Dir      string // data and logs: Dir/nodeI/, Dir/nodeI.log
	Nodes    int    // default 1
	BasePort int    // REST port of node 0 (default 8080); node i uses BasePort+i
	// HostNetwork allows starting where interfaces other than loopback
	// exist (gRPC, the data port and pprof then listen on them; heap
	// profiles hold the embeddings). Without it Start refuses.
	HostNetwork bool
}

// Cluster is a running local cluster.
type Cluster struct {
	opt   Options
	procs []*node
}

type node struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (n *node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// Ports of node i.
func (o Options) restPort(i int) int { return o.BasePort + i }
func grpcPort(i int) int             { return 50051 + i }
func gossipPort(i int) int           { return 7100 + 3*i }
func dataPort(i int) int             { return 7101 + 3*i }
func raftPort(i int) int             { return 8300 + 2*i }
func raftRPCPort(i int) int          { return 8301 + 2*i }

// Start starts the nodes (node 0 first, the others once its gossip port
// listens) and waits until every node is ready.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if opt.Nodes <= 0 {
		opt.Nodes = 1
	}
	if opt.BasePort == 0 {
		opt.BasePort = 8080
	}
	if !opt.HostNetwork {
		others, err := NonLoopback()
		if err != nil {
			return nil, fmt.Errorf("weaviate cluster: %w", err)
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("weaviate cluster: refusing to start in a network namespace with interfaces %s: weaviate-server binds gRPC, its data port and pprof to all of them (run inside a private namespace, see Reexec, or set Options.HostNetwork)", strings.Join(others, ", "))
		}
	}
	if _, err := os.Stat(opt.Binary); err != nil {
		return nil, fmt.Errorf("weaviate-server: %w (build it with 'make cluster' or: GOBIN=DIR go install %s@%s)", err, Module, Version)
	}
	c := &Cluster{opt: opt, procs: make([]*node, opt.Nodes)}
	for i := 0; i < opt.Nodes; i++ {
		if err := c.startNode(i); err != nil {
			c.Stop()
			return nil, err
		}
		if i == 0 && opt.Nodes > 1 {
			if err := waitPort(ctx, gossipPort(0)); err != nil {
				c.Stop()
				return nil, fmt.Errorf("node0 gossip port: %w (log: %s)", err, c.Log(0))
			}
		}
	}
	for i := 0; i < opt.Nodes; i++ {
		if err := c.WaitReady(ctx, i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Env is the environment of node i.
func (c *Cluster) Env(i int) []string {
	env := []string{
		"PERSISTENCE_DATA_PATH=" + filepath.Join(c.opt.Dir, fmt.Sprintf("node%d", i)),
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
		"DEFAULT_VECTORIZER_MODULE=none",
		"DISABLE_TELEMETRY=true",
		"CLUSTER_HOSTNAME=" + c.Name(i),
		"CLUSTER_IN_LOCALHOST=true",
		"CLUSTER_BIND_ADDR=127.0.0.1",
		"GRPC_PORT=" + strconv.Itoa(grpcPort(i)),
		"RAFT_TIMEOUTS_MULTIPLIER=1",
		"GO_PROFILING_PORT=" + strconv.Itoa(6060+i),
		"LOG_LEVEL=warning",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
	if c.opt.Nodes > 1 {
		var join []string
		for j := 0; j < c.opt.Nodes; j++ {
			join = append(join, fmt.Sprintf("%s:%d", c.Name(j), raftPort(j)))
		}
		seed := ""
		if i > 0 {
			seed = fmt.Sprintf("127.0.0.1:%d", gossipPort(0))
		}
		env = append(env,
			"CLUSTER_GOSSIP_BIND_PORT="+strconv.Itoa(gossipPort(i)),
			"CLUSTER_DATA_BIND_PORT="+strconv.Itoa(dataPort(i)),
			"CLUSTER_JOIN="+seed,
			"RAFT_PORT="+strconv.Itoa(raftPort(i)),
			"RAFT_INTERNAL_RPC_PORT="+strconv.Itoa(raftRPCPort(i)),
			"RAFT_JOIN="+strings.Join(join, ","),
			"RAFT_BOOTSTRAP_EXPECT="+strconv.Itoa(c.opt.Nodes),
		)
	}
	return env
}

// Name is the cluster hostname of node i.
func (c *Cluster) Name(i int) string { return fmt.Sprintf("node%d", i) }

// Host is the REST host:port of node i.
func (c *Cluster) Host(i int) string { return fmt.Sprintf("127.0.0.1:%d", c.opt.restPort(i)) }

// Log is the log file of node i.
func (c *Cluster) Log(i int) string { return filepath.Join(c.opt.Dir, fmt.Sprintf("node%d.log", i)) }

// PID is the process id of node i (0 when stopped).
func (c *Cluster) PID(i int) int {
	if c.procs[i] == nil {
		return 0
	}
	return c.procs[i].cmd.Process.Pid
}

func (c *Cluster) startNode(i int) error {
	if err := os.MkdirAll(filepath.Join(c.opt.Dir, c.Name(i)), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(c.Log(i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.opt.Binary, "--scheme", "http", "--host", "127.0.0.1", "--port", strconv.Itoa(c.opt.restPort(i)))
	cmd.Env = c.Env(i)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", c.Name(i), err)
	}
	n := &node{cmd: cmd, done: make(chan struct{})}
	c.procs[i] = n
	go func() { cmd.Wait(); logf.Close(); close(n.done) }()
	return nil
}

// WaitReady waits until node i answers /v1/.well-known/ready.
func (c *Cluster) WaitReady(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	url := "http://" + c.Host(i) + "/v1/.well-known/ready"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p := c.procs[i]; p != nil && p.exited() {
			return fmt.Errorf("%s exited (%s); log: %s", c.Name(i), p.cmd.ProcessState, c.Log(i))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w; log: %s", c.Name(i), ctx.Err(), c.Log(i))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL to node i and waits for it to exit.
func (c *Cluster) Kill(i int) error {
	p := c.procs[i]
	if p == nil {
		return fmt.Errorf("%s is not running", c.Name(i))
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	c.procs[i] = nil
	return nil
}

// Restart starts node i again (after Kill) and waits until it is ready.
func (c *Cluster) Restart(ctx context.Context, i int) error {
	if c.procs[i] != nil {
		return fmt.Errorf("%s is running", c.Name(i))
	}
	if err := c.startNode(i); err != nil {
		return err
	}
	return c.WaitReady(ctx, i)
}

// Stop terminates every node (SIGTERM, then SIGKILL after 10 s).
func (c *Cluster) Stop() {
	for _, p := range c.procs {
		if p != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for i, p := range c.procs {
		if p == nil {
			continue
		}
		select {
		case <-p.done:
		case <-time.After(time.Until(deadline)):
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		c.procs[i] = nil
	}
}

func waitPort(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
