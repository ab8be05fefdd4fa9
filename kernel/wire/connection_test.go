package wire

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadConnection(t *testing.T) {
	for _, tt := range []struct {
		name, body, wantErr, wantEndpoint string
	}{
		{"tcp", `{"transport":"tcp","ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"signature_scheme":"hmac-sha256","key":"k"}`, "", "tcp://127.0.0.1:1"},
		{"ipc", `{"transport":"ipc","ip":"/tmp/kernel","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"signature_scheme":"hmac-sha256","key":"k"}`, "", "ipc:///tmp/kernel-1"},
		{"not json", `{"transport":`, "not valid JSON", ""},
		{"no ports", `{"transport":"tcp","ip":"127.0.0.1","signature_scheme":"hmac-sha256","key":"k"}`, "is not a port number", ""},
		{"bad scheme", `{"transport":"tcp","ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"signature_scheme":"hmac-md5","key":"k"}`, "not supported", ""},
		{"bad transport", `{"transport":"udp","ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5}`, "transport", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "conn.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := ReadConnection(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Endpoint(c.ShellPort); got != tt.wantEndpoint {
				t.Errorf("Endpoint got %q, want %q", got, tt.wantEndpoint)
			}
		})
	}
	if _, err := ReadConnection(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("reading a missing file got nil error")
	}
}
