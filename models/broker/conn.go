package broker

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Conn is a connection to a NATS server with JetStream. It is safe for
// concurrent use. Close it with [Conn.Close].
type Conn struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	log  *slog.Logger
	addr string // the server URL without credentials, for messages
	// replicas is how many servers keep each stream the connection
	// creates (see Replicas).
	replicas int

	// The state buckets opened, by queue.
	stateMu sync.Mutex
	kv      map[string]jetstream.KeyValue
	obs     map[string]jetstream.ObjectStore

	hooks *reconnectHooks
}

// reconnectHooks are what runs each time a connection gets back to a
// server (one that restarted, say, with nothing of what the connection
// set up there but its subscriptions, which nats.go renews itself).
type reconnectHooks struct {
	mu   sync.Mutex
	next int
	fns  map[int]func()
}

// add registers f and returns what unregisters it.
func (h *reconnectHooks) add(f func()) (remove func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fns == nil {
		h.fns = map[int]func(){}
	}
	id := h.next
	h.next++
	h.fns[id] = f
	return func() {
		h.mu.Lock()
		delete(h.fns, id)
		h.mu.Unlock()
	}
}

// run calls the hooks, in nats.go's goroutine for connection events.
func (h *reconnectHooks) run() {
	h.mu.Lock()
	fns := make([]func(), 0, len(h.fns))
	for _, f := range h.fns {
		fns = append(fns, f)
	}
	h.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// ConnectOption configures [Connect].
type ConnectOption func(*connectConfig)

type connectConfig struct {
	name        string
	log         *slog.Logger
	fingerprint string
	caPEM       []byte
	timeout     time.Duration
	reconnects  int
}

// WithName sets the connection's name, shown in the server's monitoring.
func WithName(name string) ConnectOption {
	return func(c *connectConfig) { c.name = name }
}

// WithLogger sets where the connection logs disconnects, reconnects and
// asynchronous errors (and where queues and workers on it log). Nil, the
// default, discards them.
func WithLogger(l *slog.Logger) ConnectOption {
	return func(c *connectConfig) { c.log = l }
}

// WithTLSFingerprint pins the server's certificate: the connection uses
// TLS and succeeds only if the server's certificate has this hex SHA-256
// fingerprint ([atonce/models/broker/natsserver.Server.TLSFingerprint]
// for an embedded server). Host names are not checked, so
// this works with a self-signed certificate reached by any address.
func WithTLSFingerprint(sha256hex string) ConnectOption {
	return func(c *connectConfig) { c.fingerprint = strings.ToLower(strings.ReplaceAll(sha256hex, ":", "")) }
}

// WithCACertPEM makes the connection use TLS and trust certificates signed
// by these PEM certificates (for a self-signed server, its own certificate:
// [atonce/models/broker/natsserver.Server.TLSCertPEM]). The server's host
// name must match the certificate.
func WithCACertPEM(pemBytes []byte) ConnectOption {
	return func(c *connectConfig) { c.caPEM = pemBytes }
}

// WithConnectTimeout bounds how long [Connect] waits for the server when
// the context has no deadline; the default is 5 seconds.
func WithConnectTimeout(d time.Duration) ConnectOption {
	return func(c *connectConfig) { c.timeout = d }
}

// WithMaxReconnects bounds how many times the connection tries to get
// back to a server that went away before it gives up and closes (then
// [Consume] returns); negative, the default, means forever, every
// [ReconnectWait]: a kernel's embedded server that comes back after its
// engine crashed (on the same address, with the same token and
// certificate) finds its workers again.
func WithMaxReconnects(n int) ConnectOption {
	return func(c *connectConfig) { c.reconnects = n }
}

// ReconnectWait is how long a connection waits between two attempts to
// get back to its server (plus nats.go's jitter: up to 100 ms, 1 s with
// TLS).
const ReconnectWait = 250 * time.Millisecond

// Connect dials the NATS server at url with token (if token is empty, the
// one embedded in url as nats://TOKEN@host:port is used) and checks that
// the server has JetStream. url may list the servers of a cluster,
// comma-separated (nats://TOKEN@h1:4222,nats://h2:4222): the connection
// goes to one of them, and to another when that one goes away. Once connected, the connection reconnects by
// itself if the server goes away for a while (see [WithMaxReconnects]).
func Connect(ctx context.Context, url, token string, opts ...ConnectOption) (*Conn, error) {
	cfg := connectConfig{timeout: 5 * time.Second, reconnects: -1}
	for _, o := range opts {
		o(&cfg)
	}
	log := cfg.log
	if log == nil {
		log = discardLogger
	}
	addr := redactURL(url)
	// One token for every server: those of the URL and those a cluster
	// tells of later.
	url, token = SplitToken(url, token)
	if token != "" {
		url = redactURL(url)
	}
	timeout := cfg.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return nil, fmt.Errorf("could not connect to the NATS server at %s: %w", addr, context.DeadlineExceeded)
		}
	}
	hooks := &reconnectHooks{}
	nopts := []nats.Option{
		nats.Timeout(timeout),
		nats.MaxReconnects(cfg.reconnects),
		nats.ReconnectWait(ReconnectWait),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS asynchronous error", "subject", subj, "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Info("disconnected from the NATS server", "server", addr, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			log.Info("reconnected to the NATS server", "server", addr)
			hooks.run()
		}),
	}
	if token != "" {
		nopts = append(nopts, nats.Token(token))
	}
	if cfg.name != "" {
		nopts = append(nopts, nats.Name(cfg.name))
	}
	if cfg.fingerprint != "" || cfg.caPEM != nil {
		tc, err := clientTLS(cfg)
		if err != nil {
			return nil, err
		}
		nopts = append(nopts, nats.Secure(tc))
	}

	type dialed struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		nc, err := nats.Connect(url, nopts...)
		ch <- dialed{nc, err}
	}()
	var d dialed
	select {
	case d = <-ch:
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.nc != nil {
				d.nc.Close()
			}
		}()
		return nil, fmt.Errorf("gave up connecting to the NATS server at %s: %w", addr, ctx.Err())
	}
	if d.err != nil {
		return nil, connectError(addr, d.err)
	}
	js, err := jetstream.New(d.nc)
	if err != nil {
		d.nc.Close()
		return nil, fmt.Errorf("could not use JetStream on the NATS server at %s: %w", addr, err)
	}
	c := &Conn{nc: d.nc, js: js, log: log, addr: addr, hooks: hooks, replicas: replicasOf(d.nc)}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := js.AccountInfo(actx); err != nil {
		d.nc.Close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("the NATS server at %s does not have JetStream enabled (start it with -js): %w", addr, err)
		}
		return nil, fmt.Errorf("the NATS server at %s did not answer a JetStream request: %w", addr, err)
	}
	log.Debug("connected to the NATS server", "server", addr, "version", d.nc.ConnectedServerVersion(), "replicas", c.replicas)
	return c, nil
}

// MaxReplicas is the most servers of a NATS cluster that keep a copy of
// each stream a connection creates: three, which a cluster needs to go on
// when any one of its servers goes away (a stream lives while a majority
// of its copies does).
const MaxReplicas = 3

// replicasOf is the Replicas of a connection just made: 1 on a server
// alone; on a cluster, one per server the connection knows of (those its
// URL lists and those the cluster told it of), at most MaxReplicas.
func replicasOf(nc *nats.Conn) int {
	if nc.ConnectedClusterName() == "" {
		return 1
	}
	return max(1, min(len(nc.Servers()), MaxReplicas))
}

// connectError explains why nats.Connect failed, in a notebook user's
// words.
func connectError(addr string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(msg), "authorization violation"):
		return fmt.Errorf("the NATS server refused the token: %w (check the token, or copy the join command again)", err)
	case errors.Is(err, nats.ErrSecureConnRequired):
		return fmt.Errorf("the NATS server at %s requires TLS: pass its certificate fingerprint or CA: %w", addr, err)
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("TLS was asked for but the NATS server at %s does not offer it: %w", addr, err)
	case strings.Contains(msg, "x509") || strings.Contains(msg, "tls:") || strings.Contains(msg, "fingerprint"):
		var hint string
		if strings.Contains(msg, "x509") {
			// The kernel's server has a self-signed certificate: only its
			// pinned fingerprint makes it trusted.
			hint = " (a kernel's own server has a self-signed certificate: run the command %workers join prints, with its -tls-fingerprint, as it is)"
		}
		return fmt.Errorf("could not set up TLS with the NATS server at %s%s: %w", addr, hint, err)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("could not reach the NATS server at %s (is it running, and are the host and port right?): %w", addr, err)
	}
	return fmt.Errorf("could not connect to the NATS server at %s: %w", addr, err)
}

func clientTLS(cfg connectConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.caPEM) {
			return nil, errors.New("the CA certificate given for the NATS server holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if fp := cfg.fingerprint; fp != "" {
		if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("the TLS fingerprint %q is not a hex SHA-256 (64 hex digits)", fp)
		}
		tc.InsecureSkipVerify = cfg.caPEM == nil // the pin below replaces the chain check
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the NATS server sent no TLS certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != fp {
				return fmt.Errorf("the NATS server's TLS certificate fingerprint is %s, not the expected %s", got, fp)
			}
			return nil
		}
	}
	return tc, nil
}

// NATS is the underlying nats.go connection.
func (c *Conn) NATS() *nats.Conn { return c.nc }

// JetStream is the connection's JetStream context.
func (c *Conn) JetStream() jetstream.JetStream { return c.js }

// Replicas is how many servers keep a copy of each stream the connection
// creates: the work queues ([NewQueue]) and the notebook state
// ([PutState]). It is 1 on a server alone; on a cluster, one per server
// the connection knew of when it connected (those its URL lists and those
// the cluster told it of), at most [MaxReplicas], so that a queue lives
// on when one server of three goes away.
func (c *Conn) Replicas() int { return c.replicas }

// ReplicasSaid is what error messages about a stream the connection
// creates add on a cluster: how many servers were to keep it, which a
// cluster with fewer servers running JetStream cannot do; "" on a
// server alone.
func (c *Conn) ReplicasSaid() string {
	if c.replicas <= 1 {
		return ""
	}
	return fmt.Sprintf(" (kept on %d of the cluster's servers, which need JetStream enabled)", c.replicas)
}

// Server is the server's URL, without credentials.
func (c *Conn) Server() string { return c.addr }

// Close closes the connection. Subscriptions and a running [Consume] on it
// end.
func (c *Conn) Close() { c.nc.Close() }

// closedError reports whether the connection is closed, as an error
// worth returning.
func (c *Conn) closedError(err error) error {
	if c.nc.IsClosed() || errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("the connection to the NATS server at %s was closed: %w", c.addr, nats.ErrConnectionClosed)
	}
	return nil
}

// flush waits until the server has processed what was sent, within
// ctx or, if ctx has no deadline, 5 seconds.
func (c *Conn) flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	return c.nc.FlushWithContext(ctx)
}

// SplitToken takes the token out of a server URL
// (nats://TOKEN@HOST:PORT), or out of each of a comma-separated list of
// URLs (the servers of a cluster, the token given once or with each), so
// the URL can be shown: it returns the URL without it, and token, or if
// token is empty the first one the URL held. A URL with a user and
// password is kept as it is, and so is a list holding one.
func SplitToken(serverURL, token string) (string, string) {
	parts, found := strings.Split(serverURL, ","), token
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil || u.User == nil {
			parts[i] = p
			continue
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return serverURL, token
		}
		if found == "" {
			found = u.User.Username()
		}
		u.User = nil
		parts[i] = u.String()
	}
	return strings.Join(parts, ","), found
}

// redactURL drops credentials (user:password@ or token@) from a server URL
// or comma-separated list of URLs, so it can be shown, logged or dialed
// with a separate token.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		} else if j := strings.LastIndex(p, "@"); j >= 0 && !strings.Contains(p, "://") {
			p = p[j+1:]
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

var discardLogger = slog.New(slog.DiscardHandler)
