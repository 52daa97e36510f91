package cli

import (
	"os"
	"path/filepath"

	"github.com/cairnbackup/cairn/pkg/repo/keycache"
)

// Environment variables of the key cache (see pkg/repo/keycache).
const (
	// EnvKeyCache set to "off" turns the key cache off, like --no-key-cache.
	EnvKeyCache = "CAIRN_KEY_CACHE"
	// EnvKeyCacheDir overrides where the key cache lives (default
	// <user cache dir>/cairn/keys, e.g. ~/.cache/cairn/keys).
	EnvKeyCacheDir = "CAIRN_KEY_CACHE_DIR"
)

// KeyCache returns the key cache the command should use, or nil when it is
// turned off or no cache directory can be found (then every command pays the
// password hash, as the first one on a machine does).
func (o *RepoOptions) KeyCache() *keycache.Dir {
	if o.NoKeyCache || os.Getenv(EnvKeyCache) == "off" {
		return nil
	}
	if dir := os.Getenv(EnvKeyCacheDir); dir != "" {
		return keycache.New(dir)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return nil
	}
	return keycache.New(filepath.Join(base, "cairn", "keys"))
}
