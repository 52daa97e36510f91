package crypto

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"
)

// ErrWrongPassword means no key file could be opened with the given password.
var ErrWrongPassword = errors.New("wrong password")

// KDF algorithm names as stored in key files.
const (
	// Argon2id is the default for new key files (RFC 9106).
	Argon2id = "argon2id"
	// Scrypt key files are still read, and written when asked for.
	Scrypt = "scrypt"
)

// KDFParams are the password-hashing cost parameters stored in a key file.
// Algorithm selects which fields apply: argon2id uses T (passes), M (memory
// in KiB) and P (lanes); scrypt uses N, R and P.
type KDFParams struct {
	Algorithm string `json:"-"`
	N         int    `json:"n,omitempty"`
	R         int    `json:"r,omitempty"`
	T         int    `json:"t,omitempty"`
	M         int    `json:"m,omitempty"`
	P         int    `json:"p"`
}

// DefaultKDF is argon2id with 64 MiB, 16 passes and 2 lanes for new key
// files. Key files sit in the bucket beside the data, so whoever can read
// the bucket can guess passwords offline: each guess must cost what restic
// and kopia make it cost (about 64 MiB) or more. Calibrated on this
// project's 2-core machines by CPU time, which load does not distort: a
// pass over 64 MiB costs 62-81 ms of CPU for both lanes, so 16 passes are
// 1.0-1.3 s of CPU, about 0.5-0.65 s on two idle cores (the lanes run in
// parallel), like restic's scrypt, which it calibrates to 0.5 s at
// 60 MiB. The repository frees the 64 MiB before a
// backup starts. Key files written with earlier defaults (argon2id 7 MiB
// and 5 passes, scrypt) keep their own parameters and still open;
// `key add` and `key passwd` write these.
var DefaultKDF = KDFParams{Algorithm: Argon2id, T: 16, M: 64 << 10, P: 2}

// TestKDF is cheap, for tests only; never use it for real repositories.
var TestKDF = KDFParams{Algorithm: Argon2id, T: 1, M: 64, P: 1}

// maxKDFMemory bounds what a (possibly hostile) key file may make us allocate.
const maxKDFMemory = 1 << 30

// maxArgonWork bounds passes x memory, so a hostile key file cannot make
// opening take minutes (1 GiB x 16 passes is a few seconds here).
const maxArgonWork = 16 << 30

// Validate rejects parameters that are unusable or that would make opening a
// hostile key file exhaust memory or time.
func (p KDFParams) Validate() error {
	switch p.Algorithm {
	case Argon2id:
		if p.P < 1 || p.P > 16 {
			return fmt.Errorf("argon2id p=%d out of range (1≤p≤16)", p.P)
		}
		if p.T < 1 || p.T > 64 {
			return fmt.Errorf("argon2id t=%d out of range (1≤t≤64)", p.T)
		}
		if p.M < 8*p.P || int64(p.M)<<10 > maxKDFMemory {
			return fmt.Errorf("argon2id m=%d KiB out of range (8·p ≤ m ≤ %d KiB)", p.M, maxKDFMemory>>10)
		}
		if int64(p.T)*int64(p.M)<<10 > maxArgonWork {
			return fmt.Errorf("argon2id t=%d m=%d KiB is too expensive (t·m ≤ %d GiB)", p.T, p.M, maxArgonWork>>30)
		}
	case Scrypt:
		if p.N < 2 || p.N&(p.N-1) != 0 {
			return fmt.Errorf("scrypt N=%d must be a power of two ≥ 2", p.N)
		}
		if p.R < 1 || p.R > 64 || p.P < 1 || p.P > 16 {
			return fmt.Errorf("scrypt r=%d p=%d out of range (1≤r≤64, 1≤p≤16)", p.R, p.P)
		}
		if int64(128)*int64(p.N)*int64(p.R) > maxKDFMemory {
			return fmt.Errorf("scrypt N=%d r=%d needs more than %d MiB", p.N, p.R, maxKDFMemory>>20)
		}
	default:
		return fmt.Errorf("unknown KDF %q (want %s or %s)", p.Algorithm, Argon2id, Scrypt)
	}
	return nil
}

// derive computes the 32-byte wrapping key. The parameters must be valid.
func (p KDFParams) derive(password string, salt []byte) ([]byte, error) {
	if p.Algorithm == Scrypt {
		return scrypt.Key([]byte(password), salt, p.N, p.R, p.P, KeySize)
	}
	return argon2.IDKey([]byte(password), salt, uint32(p.T), uint32(p.M), uint8(p.P), KeySize), nil
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
		KDF: params.Algorithm, Params: params, Salt: make([]byte, 32)}
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
	raw, err := kf.Params.derive(password, kf.Salt)
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
	kf.Params.Algorithm = kf.KDF
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
