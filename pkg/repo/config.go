package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/crypto"
)

// FormatVersion is the repository format this build writes and reads.
const FormatVersion = 1

const configKey = "config"

// Config is the repository's identity and secrets beyond the master key. It
// is sealed with the master key and stored once, at init.
type Config struct {
	Version int `json:"version"`
	// ID identifies the repository (random).
	ID [16]byte `json:"id"`
	// ChunkerSeed seeds the content-defined chunker's gear table so that
	// chunk boundaries reveal nothing about the content.
	ChunkerSeed [32]byte `json:"chunker_seed"`
	// ChunkIDKey keys the BLAKE3 blob IDs.
	ChunkIDKey [32]byte  `json:"chunk_id_key"`
	Created    time.Time `json:"created"`
}

func (r *Repository) saveConfig(ctx context.Context) error {
	r.cfg.Created = time.Now().UTC()
	plain, err := json.Marshal(r.cfg)
	if err != nil {
		return err
	}
	return r.be.Put(ctx, configKey, r.key.Seal(nil, plain))
}

func loadConfig(ctx context.Context, be interface {
	Get(context.Context, string) ([]byte, error)
}, key *crypto.Key) (Config, error) {
	var cfg Config
	sealed, err := be.Get(ctx, configKey)
	if err != nil {
		return cfg, err
	}
	plain, err := key.Open(nil, sealed)
	if err != nil {
		return cfg, fmt.Errorf("config: %w: %w", ErrCorrupt, err)
	}
	return ParseConfig(plain)
}

// ParseConfig decodes and validates the plaintext of the config object.
func ParseConfig(plain []byte) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(plain, &cfg); err != nil {
		return cfg, fmt.Errorf("config: %w: %v", ErrCorrupt, err)
	}
	if cfg.Version != FormatVersion {
		return cfg, fmt.Errorf("config: %w: the repository has version %d, this build reads version %d", ErrUnsupportedVersion, cfg.Version, FormatVersion)
	}
	if cfg.ChunkIDKey == ([32]byte{}) || cfg.ChunkerSeed == ([32]byte{}) {
		return cfg, errors.New("config: missing chunk-ID key or chunker seed")
	}
	return cfg, nil
}
