// Package natsserver embeds a NATS server with JetStream, in memory only,
// for the distributed model's cluster: [Start] listens on a random
// loopback port (or a given address) with a fresh random token, with TLS
// when given a certificate ([WriteSelfSignedCert] makes one), and
// [Server.Shutdown] stops it and removes its store directory.
//
// It is apart from package broker, the client side (connect, queue,
// consume, presence, state), so that a program that only talks to a NATS
// server (a worker, a native notebook program) does not link the server.
package natsserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"atonce/internal/scratch"
)

// DefaultMaxMemory is how much memory an embedded server lets JetStream
// use for queues, results and notebook state when [Options.MaxMemory]
// is zero.
const DefaultMaxMemory = 1 << 30

// Options configures [Start]. The zero value is a server on a
// random loopback port, without TLS, with a fresh token.
type Options struct {
	// Listen is the "host:port" the server listens on. Empty means
	// "127.0.0.1:0": loopback only, on a random free port. Use a routable
	// address, or ":PORT" for all interfaces, to let workers on other
	// machines join; port 0 picks a free port.
	Listen string

	// Token is the secret every client must present. Empty means a fresh
	// random token (192 bits from crypto/rand, hex encoded), which is what
	// you want unless workers must rejoin a restarted server.
	Token string

	// TLSCert and TLSKey are PEM files of the server's certificate and
	// key. When both are set, clients must use TLS; [Server.TLSFingerprint]
	// and [Server.TLSCertPEM] give what a client needs to trust the
	// certificate. [WriteSelfSignedCert] makes a pair.
	TLSCert, TLSKey string

	// MaxMemory caps the bytes JetStream keeps in memory; zero means
	// [DefaultMaxMemory].
	MaxMemory int64

	// StoreDir is the directory JetStream is given for its store (it
	// stays empty: streams live in memory). Empty means a fresh temporary
	// directory. A given directory is emptied first (a server killed
	// without Shutdown leaves it behind) and made 0700; Shutdown removes
	// it either way.
	StoreDir string

	// Logger receives the server's own log lines: notices at debug level,
	// warnings and errors at their levels. Nil discards them.
	Logger *slog.Logger
}

// Server is an embedded NATS server with JetStream in memory. Stop it with
// [Server.Shutdown].
type Server struct {
	ns          *server.Server
	token       string
	host        string
	port        int
	tls         bool
	certPEM     []byte
	fingerprint string
	storeDir    string
	started     time.Duration
	once        sync.Once
}

// Start starts an embedded NATS server with JetStream enabled on
// memory storage only: nothing is written to disk except an empty store
// directory, removed by [Server.Shutdown]. It returns once the server
// accepts connections.
func Start(opt Options) (*Server, error) {
	t0 := time.Now()
	host, port, err := parseListen(opt.Listen)
	if err != nil {
		return nil, err
	}
	token := opt.Token
	if token == "" {
		if token, err = NewToken(); err != nil {
			return nil, err
		}
	}
	maxMem := opt.MaxMemory
	if maxMem <= 0 {
		maxMem = DefaultMaxMemory
	}
	dir, err := storeDir(opt.StoreDir)
	if err != nil {
		return nil, err
	}
	s := &Server{token: token, host: host, storeDir: dir}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}

	opts := &server.Options{
		ServerName:    "atonce",
		Host:          host,
		Port:          port,
		Authorization: token,
		NoLog:         true,
		NoSigs:        true,
		JetStream:     true,
		// An explicit store limit stops the server from probing the disk
		// for a default; the account limit set below keeps file-backed
		// streams empty.
		JetStreamMaxMemory: maxMem,
		JetStreamMaxStore:  1,
		StoreDir:           dir,
	}
	if opt.TLSCert != "" || opt.TLSKey != "" {
		if opt.TLSCert == "" || opt.TLSKey == "" {
			return fail(errors.New("TLS needs both a certificate file and a key file"))
		}
		cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: opt.TLSCert, KeyFile: opt.TLSKey})
		if err != nil {
			return fail(fmt.Errorf("could not load the TLS certificate %s and key %s: %w", opt.TLSCert, opt.TLSKey, err))
		}
		pemBytes, err := os.ReadFile(opt.TLSCert)
		if err != nil {
			return fail(fmt.Errorf("could not read the TLS certificate: %w", err))
		}
		fp, err := CertFingerprint(pemBytes)
		if err != nil {
			return fail(err)
		}
		opts.TLS = true
		opts.TLSConfig = cfg
		opts.TLSTimeout = 2
		s.tls, s.certPEM, s.fingerprint = true, pemBytes, fp
	}

	ns, err := server.NewServer(opts)
	if err != nil {
		return fail(fmt.Errorf("could not configure the embedded NATS server: %w", err))
	}
	if opt.Logger != nil {
		ns.SetLoggerV2(slogLogger{opt.Logger}, false, false, false)
	}
	ns.Start() // returns once the listener is open
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return fail(fmt.Errorf("the embedded NATS server did not start listening on %s", net.JoinHostPort(host, portString(port))))
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		return fail(errors.New("the embedded NATS server started without JetStream (is there enough memory?)"))
	}
	// Memory streams only: the account may store no byte on disk.
	if err := ns.GlobalAccount().UpdateJetStreamLimits(map[string]server.JetStreamAccountLimits{"": {
		MaxMemory: -1, MaxStore: 0, MaxStreams: -1, MaxConsumers: -1, MaxAckPending: -1,
		MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1,
	}}); err != nil {
		ns.Shutdown()
		return fail(fmt.Errorf("could not limit the embedded NATS server to memory storage: %w", err))
	}
	addr, ok := ns.Addr().(*net.TCPAddr)
	if !ok {
		ns.Shutdown()
		return fail(errors.New("the embedded NATS server has no TCP address"))
	}
	s.ns, s.port = ns, addr.Port
	s.started = time.Since(t0)
	if opt.Logger != nil {
		opt.Logger.Debug("NATS server started", "url", s.URL(), "tls", s.tls, "took", s.started)
	}
	return s, nil
}

// URL is the address clients dial, without the token: nats://HOST:PORT
// (tls://HOST:PORT with TLS). When the server listens on all interfaces
// the host is 127.0.0.1; other machines use this machine's name instead.
func (s *Server) URL() string {
	scheme := "nats"
	if s.tls {
		scheme = "tls"
	}
	host := s.host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(s.port))
}

// Token is the secret clients must present; pass it to
// [atonce/models/broker.Connect].
func (s *Server) Token() string { return s.token }

// ClientURL is [Server.URL] with the token embedded
// (nats://TOKEN@HOST:PORT), enough for [atonce/models/broker.Connect]
// with an empty token. It is a secret: do not log it.
func (s *Server) ClientURL() string {
	u := s.URL()
	i := len("nats://")
	if s.tls {
		i = len("tls://")
	}
	return u[:i] + s.token + "@" + u[i:]
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// TLS reports whether clients must use TLS.
func (s *Server) TLS() bool { return s.tls }

// TLSFingerprint is the hex SHA-256 of the server certificate (DER), for
// [atonce/models/broker.WithTLSFingerprint]; empty without TLS.
func (s *Server) TLSFingerprint() string { return s.fingerprint }

// TLSCertPEM is the server's certificate file as PEM, usable as a CA file
// ([atonce/models/broker.WithCACertPEM]) when the certificate is
// self-signed; nil without TLS.
func (s *Server) TLSCertPEM() []byte { return s.certPEM }

// StartTime is how long [Start] took, until the server accepted
// connections.
func (s *Server) StartTime() time.Duration { return s.started }

// NATSServer is the underlying nats-server, for monitoring.
func (s *Server) NATSServer() *server.Server { return s.ns }

// Shutdown stops the server, closing every client connection, and removes
// its store directory. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		os.RemoveAll(s.storeDir)
	})
}

// storeDir makes the server's store directory: dir, emptied, or a fresh
// temporary one.
func storeDir(dir string) (string, error) {
	if dir == "" {
		// In the engine's scratch directory: if the engine is killed, the
		// next one removes it.
		dir, err := scratch.MkdirTemp("nats-")
		if err != nil {
			return "", fmt.Errorf("could not make a directory for the NATS server: %w", err)
		}
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("could not empty the NATS server's directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("could not make a directory for the NATS server: %w", err)
	}
	return dir, nil
}

// NewToken returns a fresh random token: 192 bits from crypto/rand, hex
// encoded.
func NewToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("could not make a random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// CertFingerprint returns the hex SHA-256 of the first certificate in a
// PEM file's contents.
func CertFingerprint(pemBytes []byte) (string, error) {
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			return "", errors.New("the TLS certificate file holds no PEM certificate")
		}
		if b.Type == "CERTIFICATE" {
			sum := sha256.Sum256(b.Bytes)
			return hex.EncodeToString(sum[:]), nil
		}
	}
}

// WriteSelfSignedCert writes a fresh self-signed ECDSA certificate and its
// key, valid for a year for the given host names and IP addresses (and
// always localhost and 127.0.0.1), to cert.pem and key.pem in dir, both
// readable by this user only.
func WriteSelfSignedCert(dir string, hosts ...string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("could not make a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", fmt.Errorf("could not make a certificate serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "atonce NATS server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range append([]string{"localhost", "127.0.0.1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("could not make a TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("could not encode the TLS key: %w", err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", fmt.Errorf("could not write the TLS certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", fmt.Errorf("could not write the TLS key: %w", err)
	}
	return certFile, keyFile, nil
}

// parseListen splits a Listen option into the host and the port the
// server options want (-1 is a random port).
func parseListen(listen string) (host string, port int, err error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("the NATS listen address %q is not host:port: %w", listen, err)
	}
	if h == "" {
		h = "0.0.0.0"
	}
	if p == "" || p == "0" {
		return h, server.RANDOM_PORT, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("the NATS listen address %q has no valid port", listen)
	}
	return h, n, nil
}

func portString(port int) string {
	if port == server.RANDOM_PORT {
		return "0"
	}
	return strconv.Itoa(port)
}

// slogLogger routes nats-server's log lines to slog.
type slogLogger struct{ l *slog.Logger }

func (a slogLogger) log(level slog.Level, format string, v []any) {
	if a.l.Enabled(context.Background(), level) {
		a.l.Log(context.Background(), level, "nats-server: "+fmt.Sprintf(format, v...))
	}
}

func (a slogLogger) Noticef(format string, v ...any) { a.log(slog.LevelDebug, format, v) }
func (a slogLogger) Warnf(format string, v ...any)   { a.log(slog.LevelWarn, format, v) }
func (a slogLogger) Fatalf(format string, v ...any)  { a.log(slog.LevelError, format, v) }
func (a slogLogger) Errorf(format string, v ...any)  { a.log(slog.LevelError, format, v) }
func (a slogLogger) Debugf(format string, v ...any)  { a.log(slog.LevelDebug, format, v) }
func (a slogLogger) Tracef(format string, v ...any)  { a.log(slog.LevelDebug-4, format, v) }
