package kernel

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/go-zeromq/zmq4"

	"atonce/kernel/wire"
)

// channel is one of the kernel's ZeroMQ sockets with its send lock (zmq4
// sockets are not safe for concurrent sends) and the signer.
type channel struct {
	name   string
	sock   zmq4.Socket
	signer *wire.Signer
	log    *slog.Logger
	mu     sync.Mutex
}

// send signs and sends m. Errors are logged: a client that went away must
// not stop the kernel.
func (c *channel) send(m *wire.Message) {
	frames, err := c.signer.Encode(m)
	if err != nil {
		c.log.Error("encoding message", "channel", c.name, "msg_type", m.Header.MsgType, "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// SendMulti writes all frames with one writev; Send would make a
	// syscall (and a TCP segment) per frame header and body.
	if err := c.sock.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.log.Warn("sending message", "channel", c.name, "msg_type", m.Header.MsgType, "err", err)
	}
}

// recv returns the next message that decodes and verifies. Bad messages
// are logged and dropped. It returns an error only when the socket is
// closed.
func (c *channel) recv() (*wire.Message, error) {
	for {
		zm, err := c.sock.Recv()
		if err != nil {
			return nil, err
		}
		m, err := c.signer.Decode(zm.Frames)
		if err != nil {
			c.log.Warn("dropping message", "channel", c.name, "err", err)
			continue
		}
		return m, nil
	}
}

type sockets struct {
	shell, control, stdin, iopub *channel
	hb                           zmq4.Socket
}

func endpoint(c *wire.Connection, port int) string {
	ep := c.Endpoint(port)
	if c.Transport == "tcp" && strings.Contains(c.IP, ":") && !strings.HasPrefix(c.IP, "[") {
		ep = fmt.Sprintf("tcp://[%s]:%d", c.IP, port)
	}
	return ep
}

func openSockets(ctx context.Context, conn *wire.Connection, signer *wire.Signer, log *slog.Logger) (*sockets, error) {
	s := &sockets{}
	mk := func(name string, sock zmq4.Socket, port int) (*channel, error) {
		if err := sock.Listen(endpoint(conn, port)); err != nil {
			return nil, fmt.Errorf("listening for the %s channel on %s: %w", name, endpoint(conn, port), err)
		}
		return &channel{name: name, sock: sock, signer: signer, log: log}, nil
	}
	var err error
	if s.shell, err = mk("shell", zmq4.NewRouter(ctx), conn.ShellPort); err != nil {
		s.close()
		return nil, err
	}
	if s.control, err = mk("control", zmq4.NewRouter(ctx), conn.ControlPort); err != nil {
		s.close()
		return nil, err
	}
	if s.stdin, err = mk("stdin", zmq4.NewRouter(ctx), conn.StdinPort); err != nil {
		s.close()
		return nil, err
	}
	if s.iopub, err = mk("iopub", zmq4.NewPub(ctx), conn.IOPubPort); err != nil {
		s.close()
		return nil, err
	}
	s.hb = zmq4.NewRep(ctx)
	if err := s.hb.Listen(endpoint(conn, conn.HBPort)); err != nil {
		s.close()
		return nil, fmt.Errorf("listening for the heartbeat on %s: %w", endpoint(conn, conn.HBPort), err)
	}
	return s, nil
}

func (s *sockets) close() {
	for _, c := range []*channel{s.shell, s.control, s.stdin, s.iopub} {
		if c != nil {
			c.sock.Close()
		}
	}
	if s.hb != nil {
		s.hb.Close()
	}
}
