package engine

import (
	"context"
	"io"
	"testing"
	"time"

	"atonce/internal/enginemsg"
)

// An interrupt the engine reads before it has begun the request it names
// (the kernel sent both back to back) is not lost: the request stops as
// soon as it begins. Both orders of the engine's two goroutines lead to
// the same reply, so the test does not depend on which comes first.
func TestInterruptBeforeTheRequestBegins(t *testing.T) {
	reqR, reqW := io.Pipe()
	evR, evW := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, Options{Requests: reqR, Events: evW, Version: "test"}) }()
	dec := enginemsg.NewDecoder(evR)
	var ev enginemsg.Event
	if err := dec.Decode(&ev); err != nil || ev.Kind != enginemsg.EventReady {
		t.Fatalf("first event got %+v, %v; want ready", ev, err)
	}
	enc := enginemsg.NewEncoder(reqW)
	for _, req := range []enginemsg.Request{
		{ID: 1, Kind: enginemsg.KindExecute, Code: "for {}"},
		{ID: 1, Kind: enginemsg.KindInterrupt},
		{ID: 2, Kind: enginemsg.KindExecute, Code: "1 + 1"},
	} {
		if err := enc.Encode(req); err != nil {
			t.Fatal(err)
		}
	}
	replies := map[uint64]*enginemsg.Reply{}
	for len(replies) < 2 {
		var ev enginemsg.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("reading events: %v (the interrupted loop never ended?)", err)
		}
		if ev.Kind == enginemsg.EventReply {
			replies[ev.ID] = ev.Reply
		}
	}
	if r := replies[1]; r == nil || !r.Interrupted {
		t.Errorf("request 1 got %+v, want it interrupted", r)
	}
	if r := replies[2]; r == nil || r.Err != nil || r.Interrupted {
		t.Errorf("request 2 got %+v, want it to run", r)
	}
	reqW.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve got %v, want nil after the request pipe closed", err)
	}
}
