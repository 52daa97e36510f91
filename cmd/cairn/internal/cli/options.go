package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Environment variables read by every repository command.
const (
	EnvRepository   = "CAIRN_REPOSITORY"
	EnvPassword     = "CAIRN_PASSWORD"
	EnvPasswordFile = "CAIRN_PASSWORD_FILE"
)

// RepoOptions are the flags shared by all commands that open a repository.
type RepoOptions struct {
	Repo         string
	PasswordFile string
	JSON         bool
	Quiet        bool
	// NoKeyCache makes every open pay the password hash (see KeyCache).
	NoKeyCache bool
}

// Register adds the shared flags to fs.
func (o *RepoOptions) Register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Repo, "repo", "r", "", "repository URL (file:///path, s3://bucket/prefix?endpoint=..., gs://, azblob://, mem://); default $"+EnvRepository)
	fs.StringVar(&o.PasswordFile, "password-file", "", "read the repository password from this file; default $"+EnvPasswordFile+", else $"+EnvPassword)
	fs.BoolVar(&o.JSON, "json", false, "print results as JSON on stdout")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print no progress or informational messages")
	fs.BoolVar(&o.NoKeyCache, "no-key-cache", false, "do not remember the unlocked key on this machine (every command then pays the password hash); also $"+EnvKeyCache+"=off")
}

// Location returns the repository URL from the flag or the environment.
// A plain path is accepted and turned into a file:// URL.
func (o *RepoOptions) Location() (string, error) {
	loc := o.Repo
	if loc == "" {
		loc = os.Getenv(EnvRepository)
	}
	if loc == "" {
		return "", Usagef("no repository given: use --repo URL or set %s", EnvRepository)
	}
	if !strings.Contains(loc, "://") {
		abs := loc
		if !strings.HasPrefix(abs, "/") {
			wd, err := os.Getwd()
			if err != nil {
				return "", err
			}
			abs = wd + "/" + loc
		}
		loc = "file://" + abs
	}
	return loc, nil
}

// ParseSize reads sizes such as "64MiB", "1G", "512k" or a plain byte count.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional unit, e.g. 64MiB or 1G", s)
	}
	return n * mult, nil
}
