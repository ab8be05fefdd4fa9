package cellpath

import (
	"encoding/json"
	"os"
	"testing"
)

// TestMurmur2MatchesJupyterLab checks the hash against values JupyterLab's
// own murmur2 computed (see the fixture's source), UTF-8 text included:
// a frontend that hashes otherwise would never find the kernel's frames.
func TestMurmur2MatchesJupyterLab(t *testing.T) {
	b, err := os.ReadFile("testdata/jupyterlab_murmur2.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Cases []struct {
			Code string `json:"code"`
			Seed uint32 `json:"seed"`
			Hash uint32 `json:"hash"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	if len(fixture.Cases) == 0 {
		t.Fatal("the fixture has no cases")
	}
	for _, c := range fixture.Cases {
		if got := Murmur2([]byte(c.Code), c.Seed); got != c.Hash {
			t.Errorf("Murmur2(%q, %d) = %d, want %d", c.Code, c.Seed, got, c.Hash)
		}
	}
}

func TestPath(t *testing.T) {
	for _, tt := range []struct {
		naming Naming
		code   string
		want   string
	}{
		{Naming{Prefix: "/tmp/cells/", Suffix: Suffix, Seed: Seed}, "abc", "/tmp/cells/3350977461.go"},
		{Naming{Prefix: "p-", Suffix: ".x", Seed: 0}, "abc", "p-324500635.x"},
	} {
		if got := tt.naming.Path(tt.code); got != tt.want {
			t.Errorf("%+v.Path(%q) = %q, want %q", tt.naming, tt.code, got, tt.want)
		}
	}
}
