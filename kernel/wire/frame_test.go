package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestSignKnownValue(t *testing.T) {
	// Signature computed independently with Python:
	// hmac.new(b"secret", b'{"a":1}{}{}{}', hashlib.sha256).hexdigest()
	s, err := NewSigner("hmac-sha256", "secret")
	if err != nil {
		t.Fatal(err)
	}
	got := string(s.Sign([]byte(`{"a":1}`), []byte("{}"), []byte("{}"), []byte("{}")))
	want := "5439160579203ae5952244a353b0f81b6ca58a3fb44727217799b393ee79601c"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name, scheme, key string
	}{
		{"signed", "hmac-sha256", "0123-key"},
		{"unsigned", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.scheme, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			parent := &Message{Identities: [][]byte{[]byte("client-1")}, Header: Header{MsgID: "p1", MsgType: "execute_request", Session: "s", Username: "u"}}
			m, err := NewMessage("kernel-session", "execute_reply", parent, map[string]any{"status": "ok", "execution_count": 3})
			if err != nil {
				t.Fatal(err)
			}
			m.Buffers = [][]byte{[]byte("buf")}
			frames, err := s.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frames[0], []byte("client-1")) || string(frames[1]) != Delimiter {
				t.Fatalf("frames start %q %q, want identity then delimiter", frames[0], frames[1])
			}
			got, err := s.Decode(frames)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Header != m.Header {
				t.Errorf("header got %+v, want %+v", got.Header, m.Header)
			}
			if got.ParentMsgID() != "p1" {
				t.Errorf("parent msg_id got %q, want p1", got.ParentMsgID())
			}
			var c map[string]any
			if err := got.DecodeContent(&c); err != nil || c["status"] != "ok" {
				t.Errorf("content got %v (%v), want status ok", c, err)
			}
			if len(got.Buffers) != 1 || string(got.Buffers[0]) != "buf" {
				t.Errorf("buffers got %q, want [buf]", got.Buffers)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "key")
	good := func() [][]byte {
		m, _ := NewMessage("s", "kernel_info_request", nil, map[string]any{})
		m.Identities = [][]byte{[]byte("id")}
		f, _ := s.Encode(m)
		return f
	}
	for _, tt := range []struct {
		name   string
		mangle func([][]byte) [][]byte
		want   error
	}{
		{"no delimiter", func(f [][]byte) [][]byte { return append(f[:1:1], f[2:]...) }, ErrNoDelimiter},
		{"short", func(f [][]byte) [][]byte { return f[:4] }, ErrShort},
		{"bad signature", func(f [][]byte) [][]byte { f[2] = []byte("00"); return f }, ErrBadSignature},
		{"missing signature", func(f [][]byte) [][]byte { f[2] = nil; return f }, ErrBadSignature},
		{"tampered content", func(f [][]byte) [][]byte { f[6] = []byte(`{"x":1}`); return f }, ErrBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Decode(tt.mangle(good()))
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("not json", func(t *testing.T) {
		frames := [][]byte{[]byte(Delimiter), nil, []byte("nope"), []byte("{}"), []byte("{}"), []byte("{}")}
		unsigned, _ := NewSigner("", "")
		if _, err := unsigned.Decode(frames); err == nil {
			t.Error("Decode of a non-JSON header got nil error, want one")
		}
	})
	t.Run("signed message to an unsigned kernel", func(t *testing.T) {
		unsigned, _ := NewSigner("", "")
		if _, err := unsigned.Decode(good()); !errors.Is(err, ErrBadSignature) {
			t.Errorf("got %v, want ErrBadSignature", err)
		}
	})
}

func FuzzDecode(f *testing.F) {
	s, _ := NewSigner("hmac-sha256", "fuzz-key")
	m, _ := NewMessage("s", "execute_request", nil, map[string]any{"code": "1+1"})
	frames, _ := s.Encode(m)
	f.Add(bytes.Join(frames, []byte{0}))
	f.Add([]byte("<IDS|MSG>\x00\x00{}\x00{}\x00{}\x00{}"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		parts := bytes.Split(data, []byte{0})
		msg, err := s.Decode(parts)
		if err != nil {
			return
		}
		// Whatever decodes must encode again and decode to the same header.
		again, err := s.Encode(msg)
		if err != nil {
			t.Fatalf("re-encoding a decoded message: %v", err)
		}
		back, err := s.Decode(again)
		if err != nil {
			t.Fatalf("decoding a re-encoded message: %v", err)
		}
		if back.Header != msg.Header {
			t.Fatalf("header changed: %+v vs %+v", back.Header, msg.Header)
		}
		if !json.Valid(back.Content) {
			t.Fatalf("content not JSON after round trip")
		}
	})
}
