package crypto

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenAndTamper(t *testing.T) {
	k, err := NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("the quick brown fox")
	sealed := k.Seal(nil, msg)
	if len(sealed) != len(msg)+Overhead {
		t.Fatalf("sealed %d bytes, want %d", len(sealed), len(msg)+Overhead)
	}
	if again := k.Seal(nil, msg); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one message are equal: nonce reused")
	}
	for i := range sealed {
		bad := append([]byte(nil), sealed...)
		bad[i] ^= 1
		if _, err := k.Open(nil, bad); !errors.Is(err, ErrAuth) {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	other, _ := NewRandomKey()
	if _, err := other.Open(nil, sealed); !errors.Is(err, ErrAuth) {
		t.Fatal("other key opened the object")
	}
}

func TestKeyFileWrapUnwrap(t *testing.T) {
	master, _ := NewRandomKey()
	kf, err := NewKeyFile(master, "correct horse", TestKDF, "h", "u")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := kf.Marshal()
	if bytes.Contains(data, master.Bytes()) {
		t.Fatal("key file contains the raw master key")
	}
	parsed, err := ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Unwrap("correct horse")
	if err != nil || !bytes.Equal(got.Bytes(), master.Bytes()) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := parsed.Unwrap("wrong"); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := NewKeyFile(master, "", TestKDF, "", ""); err == nil {
		t.Fatal("empty password accepted")
	}
	if _, err := NewKeyFile(master, "x", KDFParams{N: 1 << 30, R: 8, P: 1}, "", ""); err == nil {
		t.Fatal("KDF needing 1 TiB accepted")
	}
}
