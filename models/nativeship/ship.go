// Package nativeship ships a notebook's native program (native mode) to
// the workers that joined a kernel, so that a worker machine needs no Go
// toolchain: the kernel builds the program for each platform among them
// and stores each binary in a JetStream object store ([Store], [Prune]),
// then announces the build ([Announce], on workermsg.NativeSubject); each
// worker the announcement names, a [Launcher], fetches the binary for its
// platform, checks its SHA-256 against the announcement's, writes it to
// its scratch directory (0700), and runs it as a child process serving
// the build's own work queue, with the launcher's server address, token
// and TLS pin. A launcher runs at most one native worker, of the current
// build: a new build stops the old one's process and removes its binary,
// and a native worker that dies unasked is reported on
// workermsg.NativeExitSubject. See package workermsg for why the
// announcement is a NATS request.
//
// Both sides of the exchange live here, as both sides of the work queue
// live in package broker: the kernel's side is used by the distributed
// model's cluster, the launcher's by `atonce worker` (workerserve).
package nativeship

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"atonce/models/broker"
	"atonce/models/workermsg"
)

// Bucket names the JetStream object store (memory storage) that holds
// the native binaries of the kernel whose work queue is queue: one per
// kernel, so that each prunes its own.
func Bucket(queue string) string { return "atonce_native_" + queue }

// Platform is how a build's binaries are keyed: "GOOS/GOARCH".
func Platform(goos, goarch string) string { return goos + "/" + goarch }

// objectName is where the binary of build source for a platform is
// kept in the bucket: "SOURCE/GOOS-GOARCH".
func objectName(source, goos, goarch string) string {
	return source + "/" + goos + "-" + goarch
}

// Binary is a native program built for one platform, to store.
type Binary struct {
	// Source is the program's source hash, which names its build.
	Source string
	// GOOS and GOARCH are the platform it was built for.
	GOOS, GOARCH string
	// Path is the executable.
	Path string
}

// Store puts b in queue's bucket unless the bucket holds it already (an
// object of the same name and SHA-256: a re-run reuses it, and an object
// that changed is replaced), and returns what a launcher needs to fetch
// and check it; stored tells whether it was sent now.
func Store(ctx context.Context, conn *broker.Conn, queue string, b Binary) (nb workermsg.NativeBinary, stored bool, err error) {
	f, err := os.Open(b.Path)
	if err != nil {
		return nb, false, fmt.Errorf("reading the native program built for %s: %w", Platform(b.GOOS, b.GOARCH), err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nb, false, fmt.Errorf("reading the native program built for %s: %w", Platform(b.GOOS, b.GOARCH), err)
	}
	sum := h.Sum(nil)
	nb = workermsg.NativeBinary{Object: objectName(b.Source, b.GOOS, b.GOARCH), Size: size, SHA256: hex.EncodeToString(sum)}
	obs, err := bucket(ctx, conn, queue, true)
	if err != nil {
		return nb, false, err
	}
	if info, err := obs.GetInfo(ctx, nb.Object); err == nil && info.Size == uint64(size) {
		if d, err := jetstream.DecodeObjectDigest(info.Digest); err == nil && bytes.Equal(d, sum) {
			return nb, false, nil
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nb, false, fmt.Errorf("reading the native program built for %s: %w", Platform(b.GOOS, b.GOARCH), err)
	}
	meta := jetstream.ObjectMeta{
		Name:        nb.Object,
		Description: "atonce native program for " + Platform(b.GOOS, b.GOARCH),
	}
	if _, err := obs.Put(ctx, meta, f); err != nil {
		return nb, false, fmt.Errorf("storing the native program for %s (%d MB) on the NATS server: %w", Platform(b.GOOS, b.GOARCH), size>>20, err)
	}
	return nb, true, nil
}

// Prune removes from queue's bucket the binaries of every build but
// source, so that the server keeps one build's.
func Prune(ctx context.Context, conn *broker.Conn, queue, source string) error {
	obs, err := bucket(ctx, conn, queue, false)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	objs, err := obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the native programs on the NATS server: %w", err)
	}
	var errs []error
	for _, o := range objs {
		if strings.HasPrefix(o.Name, source+"/") {
			continue
		}
		if err := obs.Delete(ctx, o.Name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			errs = append(errs, fmt.Errorf("removing an old native program from the NATS server: %w", err))
		}
	}
	return errors.Join(errs...)
}

// DeleteBucket removes queue's bucket with every binary in it (the
// kernel is done with native runs); a bucket that is not there is no
// error.
func DeleteBucket(ctx context.Context, conn *broker.Conn, queue string) error {
	err := conn.JetStream().DeleteObjectStore(ctx, Bucket(queue))
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("removing the native programs from the NATS server: %w", err)
	}
	return nil
}

// bucket opens queue's bucket, creating it if create is set.
func bucket(ctx context.Context, conn *broker.Conn, queue string, create bool) (jetstream.ObjectStore, error) {
	js := conn.JetStream()
	if !create {
		obs, err := js.ObjectStore(ctx, Bucket(queue))
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			err = jetstream.ErrBucketNotFound
		}
		return obs, err
	}
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      Bucket(queue),
		Description: "atonce native programs for workers without a Go toolchain",
		Storage:     jetstream.MemoryStorage,
		Replicas:    conn.Replicas(),
	})
	if err != nil {
		return nil, fmt.Errorf("opening the store of native programs on the NATS server%s: %w", conn.ReplicasSaid(), err)
	}
	return obs, nil
}

// DefaultAnnounceWait bounds how long [Announce] waits for the launchers'
// answers when given no wait: long enough to fetch a program of some
// megabytes over a slow link and start it.
const DefaultAnnounceWait = time.Minute

// Announce tells the launchers among queue's workers the native build to
// run (b.Launchers name those that must; the others stop theirs), and
// returns the answers of the named ones by worker id. It returns once
// each has answered, or when wait ([DefaultAnnounceWait] if zero or less)
// has passed or ctx is done: a launcher that did not answer by then is
// absent from the answers.
func Announce(ctx context.Context, conn *broker.Conn, queue string, b workermsg.NativeBuild, wait time.Duration) (map[string]workermsg.NativeStarted, error) {
	if wait <= 0 {
		wait = DefaultAnnounceWait
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding the native build's announcement: %w", err)
	}
	nc := conn.NATS()
	inbox := nc.NewInbox()
	replies := make(chan *nats.Msg, len(b.Launchers)+16)
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, fmt.Errorf("announcing the native build to the workers: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(workermsg.NativeSubject(queue), inbox, payload); err != nil {
		return nil, fmt.Errorf("announcing the native build to the workers: %w", err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("announcing the native build to the workers: %w", err)
	}
	want := map[string]bool{}
	for _, id := range b.Launchers {
		want[id] = true
	}
	got := map[string]workermsg.NativeStarted{}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(got) < len(want) {
		select {
		case m := <-replies:
			var s workermsg.NativeStarted
			if json.Unmarshal(m.Data, &s) != nil || !want[s.Worker] || s.Source != b.Source {
				continue
			}
			got[s.Worker] = s
		case <-timer.C:
			return got, nil
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
	return got, nil
}
