package crypto

import (
	"bytes"
	"testing"
)

// FuzzParseKeyFile feeds arbitrary bytes to the key-file decoder: it must
// never panic, and whatever it accepts must have bounded KDF costs and a
// well-formed wrapped key.
func FuzzParseKeyFile(f *testing.F) {
	master, _ := NewRandomKey()
	kf, _ := NewKeyFile(master, "pw", TestKDF, "host", "user")
	good, _ := kf.Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1,"kdf":"scrypt","params":{"n":1099511627776,"r":8,"p":1}}`))
	f.Add([]byte(`{"version":1,"kdf":"argon2id","params":{"t":64,"m":1048576,"p":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		kf, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		if err := kf.Params.Validate(); err != nil {
			t.Fatalf("accepted invalid params: %v", err)
		}
		cheap := kf.Params.N <= 1<<12
		if kf.KDF == Argon2id {
			cheap = kf.Params.T*kf.Params.M <= 1<<16
		}
		if cheap {
			if _, err := kf.Unwrap("pw"); err != nil && err != ErrWrongPassword {
				t.Logf("unwrap: %v", err)
			}
		}
	})
}

// FuzzOpen checks that opening arbitrary sealed bytes fails cleanly and
// that sealed data round-trips.
func FuzzOpen(f *testing.F) {
	k, _ := KeyFromBytes(bytes.Repeat([]byte{7}, KeySize))
	f.Add(k.Seal(nil, []byte("hello")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := k.Open(nil, data); err == nil && len(data) < Overhead {
			t.Fatal("short input accepted")
		}
		sealed := k.Seal(nil, data)
		plain, err := k.Open(nil, sealed)
		if err != nil || !bytes.Equal(plain, data) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
