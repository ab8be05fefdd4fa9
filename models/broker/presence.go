package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
)

// Presence subjects.
const (
	// HelloSubject is where a worker announces itself when it starts.
	HelloSubject = "atonce.workers.hello"
	// PingSubject is where the kernel asks every worker to answer with its
	// [WorkerInfo]; the ping's payload is a [Ping].
	PingSubject = "atonce.workers.ping"
)

// DefaultListWait is how long [ListWorkers] collects answers when given
// no wait.
const DefaultListWait = 100 * time.Millisecond

// WorkerInfo describes a worker process, as announced on [HelloSubject]
// and returned by [ListWorkers].
type WorkerInfo struct {
	// ID is the worker id its results carry ([Result.Worker]).
	ID string `json:"id"`
	// Host is the machine's host name.
	Host string `json:"host"`
	// PID is the worker's process id on Host.
	PID int `json:"pid"`
	// CPUs is the number of CPUs the worker's process may use.
	CPUs int `json:"cpus"`
	// GOOS and GOARCH are the worker's platform (runtime.GOOS and
	// runtime.GOARCH): the kernel builds a native program for it. Empty
	// for a worker that did not say.
	GOOS   string `json:"goos,omitempty"`
	GOARCH string `json:"goarch,omitempty"`
	// Launcher says the worker runs the native programs the kernel ships
	// it (an `atonce worker` that joined; see package nativeship).
	Launcher bool `json:"launcher,omitempty"`
	// Version is the worker's atonce version.
	Version string `json:"version"`
	// Queue is the work queue the worker serves: kernels sharing a
	// server (each with its own queue) tell their workers apart by it.
	// Empty for a worker that did not say.
	Queue string `json:"queue,omitempty"`
	// Started is when the worker started.
	Started time.Time `json:"started"`
	// KernelVersion, in a ping's answer, is the version the kernel sent.
	KernelVersion string `json:"kernel_version,omitempty"`
	// VersionMismatch, in a ping's answer, says the worker's Version
	// differs from the kernel's: its results may not be trustworthy.
	VersionMismatch bool `json:"version_mismatch,omitempty"`
}

// Ping is the payload of a request on [PingSubject].
type Ping struct {
	// KernelVersion is the kernel's atonce version; workers compare it
	// with theirs.
	KernelVersion string `json:"kernel_version,omitempty"`
}

// NewWorkerInfo describes this process: id [DefaultWorkerID], host name,
// pid, usable CPUs, platform, the given version, started now.
func NewWorkerInfo(version string) WorkerInfo {
	host, _ := os.Hostname()
	return WorkerInfo{
		ID:      DefaultWorkerID(),
		Host:    host,
		PID:     os.Getpid(),
		CPUs:    runtime.GOMAXPROCS(0),
		GOOS:    runtime.GOOS,
		GOARCH:  runtime.GOARCH,
		Version: version,
		Started: time.Now(),
	}
}

// ServeWorkerInfo announces info on [HelloSubject] and answers pings on
// [PingSubject] until ctx is done or the connection closes. It returns
// once the worker is listening. It announces the worker again each time
// the connection gets back to a server that went away (a kernel's engine
// that crashed and came back), so the kernel counts it at once. A ping from a kernel of another version is
// answered with VersionMismatch set, and logged as a warning.
func ServeWorkerInfo(ctx context.Context, conn *Conn, info WorkerInfo) error {
	if info.ID == "" {
		info.ID = DefaultWorkerID()
	}
	log := conn.log.With("worker", info.ID)
	warned := make(map[string]bool)
	sub, err := conn.nc.Subscribe(PingSubject, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		var p Ping
		if len(m.Data) > 0 {
			if err := json.Unmarshal(m.Data, &p); err != nil {
				log.Debug("ignored an unreadable ping", "err", err)
			}
		}
		reply := info
		reply.KernelVersion = p.KernelVersion
		reply.VersionMismatch = p.KernelVersion != "" && p.KernelVersion != info.Version
		if reply.VersionMismatch && !warned[p.KernelVersion] {
			warned[p.KernelVersion] = true // callbacks of one subscription run one at a time
			log.Warn("the kernel runs another atonce version than this worker", "kernel", p.KernelVersion, "worker", info.Version)
		}
		b, err := json.Marshal(reply)
		if err != nil {
			return
		}
		if err := m.Respond(b); err != nil {
			log.Debug("could not answer a ping", "err", err)
		}
	})
	if err != nil {
		if cerr := conn.closedError(err); cerr != nil {
			return cerr
		}
		return fmt.Errorf("could not listen for the kernel's pings: %w", err)
	}
	hello, err := json.Marshal(info)
	if err == nil {
		err = conn.nc.Publish(HelloSubject, hello)
	}
	if err == nil {
		err = conn.flush(ctx)
	}
	if err != nil {
		sub.Unsubscribe()
		if cerr := conn.closedError(err); cerr != nil {
			return cerr
		}
		return fmt.Errorf("could not announce the worker to the NATS server: %w", err)
	}
	forget := conn.hooks.add(func() {
		if err := conn.nc.Publish(HelloSubject, hello); err != nil {
			log.Debug("could not announce the worker again after reconnecting", "err", err)
		}
	})
	context.AfterFunc(ctx, func() {
		forget()
		sub.Unsubscribe()
	})
	return nil
}

// ListWorkers asks every worker connected to the server who it is and
// collects the answers for wait ([DefaultListWait] if zero or less), or
// until ctx is done. The answers are sorted by host and id.
func ListWorkers(ctx context.Context, conn *Conn, wait time.Duration) ([]WorkerInfo, error) {
	return PingWorkers(ctx, conn, "", wait)
}

// PingWorkers is [ListWorkers] with the kernel's version in the ping:
// each answer says whether the worker's version differs
// ([WorkerInfo.VersionMismatch]).
func PingWorkers(ctx context.Context, conn *Conn, kernelVersion string, wait time.Duration) ([]WorkerInfo, error) {
	if wait <= 0 {
		wait = DefaultListWait
	}
	inbox := conn.nc.NewInbox()
	answers := make(chan *nats.Msg, 256)
	sub, err := conn.nc.ChanSubscribe(inbox, answers)
	if err != nil {
		if cerr := conn.closedError(err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("could not ask the workers who is there: %w", err)
	}
	defer sub.Unsubscribe()
	ping, _ := json.Marshal(Ping{KernelVersion: kernelVersion})
	if err := conn.nc.PublishRequest(PingSubject, inbox, ping); err != nil {
		if cerr := conn.closedError(err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("could not ask the workers who is there: %w", err)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	byID := make(map[string]WorkerInfo)
	for {
		select {
		case m := <-answers:
			var w WorkerInfo
			if err := json.Unmarshal(m.Data, &w); err != nil || w.ID == "" {
				conn.log.Debug("ignored an unreadable worker answer", "err", err)
				continue
			}
			byID[w.ID] = w
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		break
	}
	out := make([]WorkerInfo, 0, len(byID))
	for _, w := range byID {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].ID < out[j].ID
	})
	if ctx.Err() != nil {
		return out, fmt.Errorf("stopped listing workers: %w", ctx.Err())
	}
	return out, nil
}

// WatchWorkers delivers the [WorkerInfo] of each worker that announces
// itself from now on, until ctx is done (then the channel is closed).
// Announcements arriving while the channel is full are dropped; use
// [ListWorkers] for an authoritative list.
func WatchWorkers(ctx context.Context, conn *Conn) (<-chan WorkerInfo, error) {
	out := make(chan WorkerInfo, 64)
	msgs := make(chan *nats.Msg, 64)
	sub, err := conn.nc.ChanSubscribe(HelloSubject, msgs)
	if err != nil {
		if cerr := conn.closedError(err); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("could not listen for workers joining: %w", err)
	}
	if err := conn.flush(ctx); err != nil {
		sub.Unsubscribe()
		return nil, fmt.Errorf("could not listen for workers joining: %w", err)
	}
	go func() {
		defer close(out)
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				var w WorkerInfo
				if err := json.Unmarshal(m.Data, &w); err != nil || w.ID == "" {
					continue
				}
				select {
				case out <- w:
				default:
					conn.log.Debug("dropped a worker announcement: nobody reads them", "worker", w.ID)
				}
			}
		}
	}()
	return out, nil
}
