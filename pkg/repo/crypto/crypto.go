// Package crypto seals every repository object with AES-256-GCM under a random
// master key, and wraps that master key with keys derived from passwords
// (argon2id; scrypt key files are still read), so several passwords can open
// one repository and a password can change without rewriting any data.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the length of the master key: AES-256.
const KeySize = 32

// Overhead is the number of bytes Seal adds: a 12-byte random nonce and the
// 16-byte GCM tag.
const Overhead = nonceSize + tagSize

const (
	nonceSize = 12
	tagSize   = 16
)

// ErrAuth means a sealed object failed authentication: it was corrupted,
// truncated, or sealed under another key.
var ErrAuth = errors.New("authentication failed (object corrupted or not from this repository)")

// Key seals and opens objects. It is safe for concurrent use.
type Key struct {
	raw  [KeySize]byte
	aead cipher.AEAD
}

// NewRandomKey makes a fresh master key from the system's secure random source.
func NewRandomKey() (*Key, error) {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	return KeyFromBytes(raw[:])
}

// KeyFromBytes builds a Key from 32 raw bytes (as unwrapped from a key file).
func KeyFromBytes(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("master key has %d bytes, want %d", len(raw), KeySize)
	}
	k := &Key{}
	copy(k.raw[:], raw)
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		return nil, err
	}
	k.aead, err = cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Seal encrypts and authenticates plaintext, appending nonce||ciphertext||tag
// to dst and returning the extended slice. Nonces are random: with 96-bit
// nonces a key may seal about 2^32 objects before collisions become a
// concern, which at 1 MiB per blob is petabytes per repository.
func (k *Key) Seal(dst, plaintext []byte) []byte {
	start := len(dst)
	dst = grow(dst, nonceSize+len(plaintext)+tagSize)
	nonce := dst[start : start+nonceSize]
	// Since Go 1.24 crypto/rand.Read never returns an error: it aborts the
	// process if the kernel's generator fails, so a nonce is never weak.
	_, _ = rand.Read(nonce)
	return k.aead.Seal(dst[:start+nonceSize], nonce, plaintext, nil)
}

// Headroom is the number of bytes SealInPlace needs in front of the
// plaintext (for the nonce).
const Headroom = nonceSize

// SealInPlace seals buf[Headroom:] where it lies and writes the nonce into
// buf[:Headroom], returning nonce||ciphertext||tag in buf's own memory (the
// same bytes Seal would produce). A pipeline that builds its plaintext at
// offset Headroom of a buffer with TagSize spare capacity (the compressor
// does) thereby needs no second buffer per blob. With less spare capacity a
// new buffer is allocated.
func (k *Key) SealInPlace(buf []byte) []byte {
	if len(buf) < nonceSize {
		panic("crypto: SealInPlace buffer shorter than the nonce headroom")
	}
	if cap(buf)-len(buf) < tagSize {
		return k.Seal(nil, buf[nonceSize:])
	}
	nonce := buf[:nonceSize]
	_, _ = rand.Read(nonce)
	plain := buf[nonceSize:]
	return buf[:nonceSize+len(k.aead.Seal(plain[:0], nonce, plain, nil))]
}

// TagSize is the spare capacity SealInPlace needs after the plaintext.
const TagSize = tagSize

// Open authenticates and decrypts a sealed object, appending the plaintext to
// dst. It returns ErrAuth for any damage.
func (k *Key) Open(dst, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte envelope", ErrAuth, len(sealed), Overhead)
	}
	out, err := k.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], nil)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// OpenInPlace is Open decrypting into sealed's own memory: the plaintext
// is returned as a slice of sealed. On failure sealed's bytes may have been
// overwritten.
func (k *Key) OpenInPlace(sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte envelope", ErrAuth, len(sealed), Overhead)
	}
	ct := sealed[nonceSize:]
	out, err := k.aead.Open(ct[:0], sealed[:nonceSize], ct, nil)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// Bytes returns a copy of the raw key, only for wrapping it in a key file.
func (k *Key) Bytes() []byte { b := k.raw; return b[:] }

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, len(b)+n)
	copy(nb, b)
	return nb
}
