// Package wire is the Jupyter wire protocol: the message structure, its
// framing into ZeroMQ frames, and HMAC signing, as the messaging spec 5.3
// describes (https://jupyter-client.readthedocs.io/en/latest/messaging.html).
//
// It knows nothing of sockets or of what a message means: the kernel
// package routes messages, this package turns them into frames and back.
package wire

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// ProtocolVersion is the messaging spec version atonce speaks. Since 5.2
// cursor positions count Unicode code points, not UTF-16 units.
const ProtocolVersion = "5.3"

// Header is a message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one Jupyter message. Identities are the ZeroMQ routing
// prefixes of a message received on a ROUTER socket; a reply carries the
// request's identities so it reaches the same client.
type Message struct {
	Identities [][]byte
	Header     Header
	// ParentHeader is kept as raw JSON: the kernel echoes it untouched.
	ParentHeader json.RawMessage
	Metadata     map[string]any
	Content      json.RawMessage
	Buffers      [][]byte
}

// ParentMsgID returns the msg_id of the message's parent header, or "".
func (m *Message) ParentMsgID() string {
	var h struct {
		MsgID string `json:"msg_id"`
	}
	if len(m.ParentHeader) == 0 || json.Unmarshal(m.ParentHeader, &h) != nil {
		return ""
	}
	return h.MsgID
}

// DecodeContent unmarshals the message content into v.
func (m *Message) DecodeContent(v any) error {
	if len(m.Content) == 0 {
		return json.Unmarshal([]byte("{}"), v)
	}
	return json.Unmarshal(m.Content, v)
}

// NewMessage returns a message of type msgType in session, replying to
// parent (which may be nil for messages with no parent), with content
// marshalled from content. The reply carries the parent's identities.
func NewMessage(session, msgType string, parent *Message, content any) (*Message, error) {
	body, err := json.Marshal(content)
	if err != nil {
		return nil, err
	}
	m := &Message{
		Header: Header{
			MsgID:    uuid.NewString(),
			Session:  session,
			Username: "kernel",
			Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
			MsgType:  msgType,
			Version:  ProtocolVersion,
		},
		ParentHeader: json.RawMessage("{}"),
		Metadata:     map[string]any{},
		Content:      body,
	}
	if parent != nil {
		m.Identities = parent.Identities
		m.ParentHeader = mustHeader(parent.Header)
		if m.Header.Username = parent.Header.Username; m.Header.Username == "" {
			m.Header.Username = "kernel"
		}
	}
	return m, nil
}

func mustHeader(h Header) json.RawMessage {
	b, err := json.Marshal(h)
	if err != nil { // a Header of strings always marshals
		panic(err)
	}
	return b
}
