package convert

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds untrusted bytes through everything convert does with
// them: decoding, converting, writing. None of it may panic; what it
// writes must decode again into as many objects as it converted.
func FuzzDecode(f *testing.F) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range inputs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Decode("fuzz", bytes.NewReader(data))
		res := Convert("fuzz", docs)
		var out bytes.Buffer
		if err := res.WriteYAML(&out); err != nil {
			t.Fatalf("converted objects cannot be written: %v", err)
		}
		again, errs := Decode("out", bytes.NewReader(out.Bytes()))
		if len(errs) > 0 {
			t.Fatalf("the output does not decode: %v\n%s", errs, out.String())
		}
		if len(again) != len(res.Objects) {
			t.Fatalf("wrote %d objects, read back %d\n%s", len(res.Objects), len(again), out.String())
		}
	})
}
