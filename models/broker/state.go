package broker

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxStateSize is the largest state [PutState] accepts.
const MaxStateSize = 64 << 20

// StateBucket is the JetStream key-value bucket (memory storage) that
// holds the notebook state of queue's runs that fits in one message: one
// per queue, so kernels sharing a server (each with its own queue) do
// not share, nor create at once, the streams their state lives in.
func StateBucket(queue string) string { return "atonce_state_" + queue }

// LargeStateBucket is the JetStream object store (memory storage) for the
// larger notebook state of queue's runs, sent in chunks.
func LargeStateBucket(queue string) string { return "atonce_state_large_" + queue }

// ErrStateNotFound is returned (wrapped) by [GetState] for a key nobody
// put.
var ErrStateNotFound = errors.New("no such notebook state on the NATS server")

var validKey = regexp.MustCompile(`^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$`)

// PutState stores data under key (letters, digits, '-', '/', '_', '=' and
// inner dots: a hash of the data is the intended key) for the workers of
// queue to fetch with [GetState]. State that fits in one NATS message goes
// in the key-value bucket [StateBucket], larger state up to [MaxStateSize]
// in the object store [LargeStateBucket]; both live in the server's memory.
func PutState(ctx context.Context, conn *Conn, queue, key string, data []byte) error {
	if err := checkName(queue); err != nil {
		return err
	}
	if !validKey.MatchString(key) {
		return fmt.Errorf("the state key %q may hold only letters, digits, '-', '/', '_', '=' and inner dots", key)
	}
	if len(data) > MaxStateSize {
		return fmt.Errorf("the notebook state %s is %d MB; at most %d MB can be sent to workers", key, len(data)>>20, MaxStateSize>>20)
	}
	if int64(len(data))+int64(len(key))+1024 <= conn.nc.MaxPayload() {
		kv, err := conn.stateKV(ctx, queue, true)
		if err != nil {
			return err
		}
		if _, err := kv.Put(ctx, key, data); err != nil {
			return fmt.Errorf("could not store the notebook state %s on the NATS server: %w", key, err)
		}
		return nil
	}
	obs, err := conn.stateObjects(ctx, queue, true)
	if err != nil {
		return err
	}
	if _, err := obs.PutBytes(ctx, key, data); err != nil {
		return fmt.Errorf("could not store the notebook state %s (%d bytes) on the NATS server: %w", key, len(data), err)
	}
	return nil
}

// GetState returns the data [PutState] stored under key for queue, or an
// error wrapping [ErrStateNotFound].
func GetState(ctx context.Context, conn *Conn, queue, key string) ([]byte, error) {
	if err := checkName(queue); err != nil {
		return nil, err
	}
	if !validKey.MatchString(key) {
		return nil, fmt.Errorf("the state key %q may hold only letters, digits, '-', '/', '_', '=' and inner dots", key)
	}
	kv, err := conn.stateKV(ctx, queue, false)
	if err != nil && !errors.Is(err, ErrStateNotFound) {
		return nil, err
	}
	if kv != nil {
		e, err := kv.Get(ctx, key)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("could not fetch the notebook state %s from the NATS server: %w", key, err)
		}
	}
	obs, err := conn.stateObjects(ctx, queue, false)
	if err != nil {
		if errors.Is(err, ErrStateNotFound) {
			return nil, fmt.Errorf("notebook state %s: %w", key, ErrStateNotFound)
		}
		return nil, err
	}
	data, err := obs.GetBytes(ctx, key)
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, fmt.Errorf("notebook state %s: %w", key, ErrStateNotFound)
		}
		return nil, fmt.Errorf("could not fetch the notebook state %s from the NATS server: %w", key, err)
	}
	return data, nil
}

// stateKV returns queue's state bucket, creating it if create is set; a
// missing bucket is ErrStateNotFound.
func (c *Conn) stateKV(ctx context.Context, queue string, create bool) (jetstream.KeyValue, error) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if kv := c.kv[queue]; kv != nil {
		return kv, nil
	}
	var kv jetstream.KeyValue
	var err error
	if create {
		kv, err = c.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      StateBucket(queue),
			Description: "atonce notebook state for workers",
			Storage:     jetstream.MemoryStorage,
			History:     1,
			Replicas:    c.replicas,
		})
	} else {
		kv, err = c.js.KeyValue(ctx, StateBucket(queue))
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, ErrStateNotFound
		}
		return nil, fmt.Errorf("could not open the notebook state bucket on the NATS server%s: %w", c.ReplicasSaid(), err)
	}
	if c.kv == nil {
		c.kv = map[string]jetstream.KeyValue{}
	}
	c.kv[queue] = kv
	return kv, nil
}

// stateObjects is stateKV for the object store.
func (c *Conn) stateObjects(ctx context.Context, queue string, create bool) (jetstream.ObjectStore, error) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	if obs := c.obs[queue]; obs != nil {
		return obs, nil
	}
	var obs jetstream.ObjectStore
	var err error
	if create {
		obs, err = c.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      LargeStateBucket(queue),
			Description: "atonce large notebook state for workers",
			Storage:     jetstream.MemoryStorage,
			Replicas:    c.replicas,
		})
	} else {
		obs, err = c.js.ObjectStore(ctx, LargeStateBucket(queue))
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, ErrStateNotFound
		}
		return nil, fmt.Errorf("could not open the large notebook state store on the NATS server%s: %w", c.ReplicasSaid(), err)
	}
	if c.obs == nil {
		c.obs = map[string]jetstream.ObjectStore{}
	}
	c.obs[queue] = obs
	return obs, nil
}
