package distributed

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"atonce/internal/scratch"
	"atonce/models/broker/natsserver"
)

// A cluster started with ClusterOptions.StateDir keeps there what a
// restarted engine needs to bring the same cluster back, so that the
// workers that joined it (which reconnect by themselves) find it again:
//
//	cluster.json   where the cluster is: the external server's URL, or the
//	               embedded server's address with its port as bound; the
//	               token; the certificate; the queue (0600: it holds the token)
//	tls/           the self-signed certificate and its key (0600 each)
//	nats/          the embedded server's JetStream store (empty: streams
//	               live in memory), emptied when a server starts
//
// The directory is the kernel's (atonce/internal/statedir): it outlives
// engines and goes when the kernel stops.
const (
	clusterFile  = "cluster.json"
	tlsDirName   = "tls"
	storeDirName = "nats"
)

// savedCluster is what cluster.json holds.
type savedCluster struct {
	URL     string `json:"url,omitempty"`
	Token   string `json:"token,omitempty"`
	Listen  string `json:"listen,omitempty"`
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	Queue   string `json:"queue"`
}

// SavedCluster returns the options of the cluster that StartCluster saved
// in dir (ClusterOptions.StateDir), pinned to its address, token and
// certificate, so that StartCluster with them brings back the same cluster
// for the workers that joined it; false when none is saved there. What is
// not saved (Version, WorkerCommand, Logger) comes from base.
func SavedCluster(dir string, base ClusterOptions) (ClusterOptions, bool, error) {
	if dir == "" {
		return base, false, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, clusterFile))
	if errors.Is(err, os.ErrNotExist) {
		return base, false, nil
	}
	if err != nil {
		return base, false, fmt.Errorf("could not read the distributed model's saved cluster: %w", err)
	}
	var s savedCluster
	if err := json.Unmarshal(b, &s); err != nil {
		return base, false, fmt.Errorf("the distributed model's saved cluster %s is unreadable: %w", filepath.Join(dir, clusterFile), err)
	}
	opt := base
	opt.URL, opt.Token, opt.Listen, opt.TLSCert, opt.TLSKey, opt.Queue = s.URL, s.Token, s.Listen, s.TLSCert, s.TLSKey, s.Queue
	opt.StateDir = dir
	return opt, true, nil
}

// ForgetCluster removes the cluster saved in dir with its self-signed
// certificate and key, when the user replaces the cluster: the next
// StartCluster there starts afresh.
func ForgetCluster(dir string) error {
	if dir == "" {
		return nil
	}
	var errs []error
	for _, p := range []string{clusterFile, tlsDirName} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("could not forget the distributed model's cluster: %w", err)
	}
	return nil
}

// save writes where the cluster is to its state directory, for the next
// engine.
func (c *Cluster) save() error {
	s := savedCluster{URL: c.opt.URL, Token: c.token, Queue: c.opt.Queue}
	if c.server != nil {
		host, _, err := net.SplitHostPort(c.opt.Listen)
		if c.opt.Listen == "" || err != nil {
			host = "127.0.0.1"
		}
		s.Listen = net.JoinHostPort(host, strconv.Itoa(c.server.Port()))
		s.TLSCert, s.TLSKey = c.serverTLS[0], c.serverTLS[1]
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.opt.StateDir, clusterFile+".*")
	if err != nil {
		return fmt.Errorf("could not save the cluster for the next engine: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("could not save the cluster for the next engine: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(c.opt.StateDir, clusterFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("could not save the cluster for the next engine: %w", err)
	}
	return nil
}

// serverOptions are the embedded server's options: opt's address, token
// and certificate; without a certificate beyond loopback, a self-signed
// one, made in the state directory (where a restarted engine finds it) or
// in a temporary directory removed by Close.
func (c *Cluster) serverOptions() (natsserver.Options, error) {
	opt := c.opt
	so := natsserver.Options{Listen: opt.Listen, Token: opt.Token, TLSCert: opt.TLSCert, TLSKey: opt.TLSKey, Logger: c.log}
	if opt.StateDir != "" {
		so.StoreDir = filepath.Join(opt.StateDir, storeDirName)
	}
	if BeyondLoopback(opt.Listen) && opt.TLSCert == "" {
		var dir string
		var err error
		if opt.StateDir != "" {
			dir = filepath.Join(opt.StateDir, tlsDirName)
			if err = os.RemoveAll(dir); err == nil {
				err = os.Mkdir(dir, 0o700)
			}
		} else {
			// In the engine's scratch directory: if the engine is killed,
			// the next one removes the key with it.
			dir, err = scratch.MkdirTemp("tls-")
			c.tlsDir = dir
		}
		if err != nil {
			return so, fmt.Errorf("making a place for the TLS certificate: %w", err)
		}
		host, _ := os.Hostname()
		if so.TLSCert, so.TLSKey, err = natsserver.WriteSelfSignedCert(dir, host, "localhost", "127.0.0.1"); err != nil {
			return so, fmt.Errorf("making a self-signed TLS certificate: %w", err)
		}
	}
	c.serverTLS = [2]string{so.TLSCert, so.TLSKey}
	return so, nil
}
