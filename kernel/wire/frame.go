package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
)

// Delimiter separates the routing identities from the message proper.
const Delimiter = "<IDS|MSG>"

// Errors Decode returns. Callers log them and drop the message.
var (
	ErrNoDelimiter  = errors.New("wire: no <IDS|MSG> delimiter")
	ErrShort        = errors.New("wire: fewer than the 5 frames a message needs after the delimiter")
	ErrBadSignature = errors.New("wire: bad or missing signature")
)

// Signer signs and verifies messages with the connection file's key.
// A Signer with an empty key signs with the empty string and accepts only
// unsigned messages, as the spec says for an empty key. It is safe for
// concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for scheme ("hmac-sha256" or "" when the key
// is empty) and key.
func NewSigner(scheme, key string) (*Signer, error) {
	if key != "" && scheme != "hmac-sha256" {
		return nil, fmt.Errorf("signature scheme %q is not supported (only hmac-sha256)", scheme)
	}
	return &Signer{key: []byte(key)}, nil
}

func (s *Signer) mac() hash.Hash { return hmac.New(sha256.New, s.key) }

// Sign returns the hex signature of the four JSON frames.
func (s *Signer) Sign(header, parent, metadata, content []byte) []byte {
	if len(s.key) == 0 {
		return nil
	}
	h := s.mac()
	h.Write(header)
	h.Write(parent)
	h.Write(metadata)
	h.Write(content)
	sum := h.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

func (s *Signer) verify(sig, header, parent, metadata, content []byte) bool {
	want := s.Sign(header, parent, metadata, content)
	if len(s.key) == 0 {
		return len(sig) == 0
	}
	return hmac.Equal(bytes.ToLower(sig), want)
}

// Encode turns m into ZeroMQ frames: identities, delimiter, signature,
// header, parent header, metadata, content, buffers.
func (s *Signer) Encode(m *Message) ([][]byte, error) {
	header, err := json.Marshal(m.Header)
	if err != nil {
		return nil, fmt.Errorf("wire: header: %w", err)
	}
	parent := []byte(m.ParentHeader)
	if len(parent) == 0 {
		parent = []byte("{}")
	}
	metadata := []byte("{}")
	if len(m.Metadata) > 0 {
		if metadata, err = json.Marshal(m.Metadata); err != nil {
			return nil, fmt.Errorf("wire: metadata: %w", err)
		}
	}
	content := []byte(m.Content)
	if len(content) == 0 {
		content = []byte("{}")
	}
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, []byte(Delimiter), s.Sign(header, parent, metadata, content), header, parent, metadata, content)
	frames = append(frames, m.Buffers...)
	return frames, nil
}

// Decode parses frames into a Message after checking the signature. It
// never panics on malformed input; every failure is an error.
func (s *Signer) Decode(frames [][]byte) (*Message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], []byte(Delimiter)) {
		i++
	}
	if i == len(frames) {
		return nil, ErrNoDelimiter
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, ErrShort
	}
	sig, header, parent, metadata, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	if !s.verify(sig, header, parent, metadata, content) {
		return nil, ErrBadSignature
	}
	m := &Message{Identities: cloneFrames(frames[:i])}
	if err := json.Unmarshal(header, &m.Header); err != nil {
		return nil, fmt.Errorf("wire: header is not a JSON object: %w", err)
	}
	if m.Header.MsgType == "" {
		return nil, errors.New("wire: header has no msg_type")
	}
	if !json.Valid(parent) || !isObject(parent) {
		return nil, errors.New("wire: parent header is not a JSON object")
	}
	m.ParentHeader = append(json.RawMessage(nil), parent...)
	if err := json.Unmarshal(metadata, &m.Metadata); err != nil || m.Metadata == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, fmt.Errorf("wire: metadata is not a JSON object: %w", err)
	}
	if !json.Valid(content) || !isObject(content) {
		return nil, errors.New("wire: content is not a JSON object")
	}
	m.Content = append(json.RawMessage(nil), content...)
	m.Buffers = cloneFrames(rest[5:])
	return m, nil
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func cloneFrames(in [][]byte) [][]byte {
	if len(in) == 0 {
		return nil
	}
	out := make([][]byte, len(in))
	for i, f := range in {
		out[i] = append([]byte(nil), f...)
	}
	return out
}
