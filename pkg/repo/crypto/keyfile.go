package crypto

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/scrypt"
)

// ErrWrongPassword means no key file could be opened with the given password.
var ErrWrongPassword = errors.New("wrong password")

// KDFParams are the scrypt cost parameters stored in a key file.
type KDFParams struct {
	N int `json:"n"`
	R int `json:"r"`
	P int `json:"p"`
}

// DefaultKDF costs about 100 ms and 32 MiB per password attempt.
var DefaultKDF = KDFParams{N: 1 << 15, R: 8, P: 1}

// TestKDF is cheap, for tests only; never use it for real repositories.
var TestKDF = KDFParams{N: 1 << 10, R: 8, P: 1}

// maxKDFMemory bounds what a (possibly hostile) key file may make us allocate.
const maxKDFMemory = 1 << 30

// Validate rejects parameters that are unusable or that would make opening a
// hostile key file exhaust memory or time.
func (p KDFParams) Validate() error {
	if p.N < 2 || p.N&(p.N-1) != 0 {
		return fmt.Errorf("scrypt N=%d must be a power of two ≥ 2", p.N)
	}
	if p.R < 1 || p.R > 64 || p.P < 1 || p.P > 16 {
		return fmt.Errorf("scrypt r=%d p=%d out of range (1≤r≤64, 1≤p≤16)", p.R, p.P)
	}
	if int64(128)*int64(p.N)*int64(p.R) > maxKDFMemory {
		return fmt.Errorf("scrypt N=%d r=%d needs more than %d MiB", p.N, p.R, maxKDFMemory>>20)
	}
	return nil
}

// KeyFile is one password's wrapping of the master key. The repository keeps
// one per password under keys/; adding or removing a password adds or removes
// a key file and never touches data.
type KeyFile struct {
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
	KDF      string    `json:"kdf"`
	Params   KDFParams `json:"params"`
	Salt     []byte    `json:"salt"`
	// Wrapped is the master key sealed with the password-derived key.
	Wrapped []byte `json:"wrapped"`
}

// NewKeyFile wraps master under password. hostname and username are only
// labels shown by `key list`.
func NewKeyFile(master *Key, password string, params KDFParams, hostname, username string) (*KeyFile, error) {
	if password == "" {
		return nil, errors.New("empty password: a repository password must not be empty")
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	kf := &KeyFile{Version: 1, Created: time.Now().UTC(), Hostname: hostname, Username: username,
		KDF: "scrypt", Params: params, Salt: make([]byte, 32)}
	if _, err := rand.Read(kf.Salt); err != nil {
		return nil, fmt.Errorf("read random salt: %w", err)
	}
	wrapKey, err := kf.derive(password)
	if err != nil {
		return nil, err
	}
	kf.Wrapped = wrapKey.Seal(nil, master.Bytes())
	return kf, nil
}

func (kf *KeyFile) derive(password string) (*Key, error) {
	raw, err := scrypt.Key([]byte(password), kf.Salt, kf.Params.N, kf.Params.R, kf.Params.P, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	return KeyFromBytes(raw)
}

// Unwrap derives the wrapping key from password and returns the master key,
// or ErrWrongPassword.
func (kf *KeyFile) Unwrap(password string) (*Key, error) {
	wrapKey, err := kf.derive(password)
	if err != nil {
		return nil, err
	}
	raw, err := wrapKey.Open(nil, kf.Wrapped)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return KeyFromBytes(raw)
}

// Marshal encodes the key file as JSON.
func (kf *KeyFile) Marshal() ([]byte, error) { return json.MarshalIndent(kf, "", "  ") }

// ParseKeyFile decodes and validates a key file read from storage; it never
// trusts the cost parameters blindly.
func ParseKeyFile(data []byte) (*KeyFile, error) {
	var kf KeyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("key file is not valid JSON: %w", err)
	}
	if kf.Version != 1 {
		return nil, fmt.Errorf("key file version %d is not supported (this build reads version 1)", kf.Version)
	}
	if kf.KDF != "scrypt" {
		return nil, fmt.Errorf("key file uses unknown KDF %q (want scrypt)", kf.KDF)
	}
	if err := kf.Params.Validate(); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(kf.Salt) < 16 {
		return nil, fmt.Errorf("key file salt has %d bytes, want at least 16", len(kf.Salt))
	}
	if len(kf.Wrapped) != KeySize+Overhead {
		return nil, fmt.Errorf("key file wrapped key has %d bytes, want %d", len(kf.Wrapped), KeySize+Overhead)
	}
	return &kf, nil
}
