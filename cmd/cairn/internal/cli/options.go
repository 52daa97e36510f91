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
}

// Register adds the shared flags to fs.
func (o *RepoOptions) Register(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Repo, "repo", "r", "", "repository URL (file:///path, s3://bucket/prefix?endpoint=..., gs://, azblob://, mem://); default $"+EnvRepository)
	fs.StringVar(&o.PasswordFile, "password-file", "", "read the repository password from this file; default $"+EnvPasswordFile+", else $"+EnvPassword)
	fs.BoolVar(&o.JSON, "json", false, "print results as JSON on stdout")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print no progress or informational messages")
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

// Password returns the repository password: from --password-file, then
// $CAIRN_PASSWORD_FILE, then $CAIRN_PASSWORD. A trailing newline in a file
// is dropped. The password is never printed or logged.
func (o *RepoOptions) Password() (string, error) {
	return readPassword(o.PasswordFile, "--password-file")
}

// NewPassword reads a second password (for key add/passwd) from the given
// file flag value, or from $CAIRN_NEW_PASSWORD.
func NewPassword(file string) (string, error) {
	if file != "" {
		return passwordFromFile(file, "--new-password-file")
	}
	if p := os.Getenv("CAIRN_NEW_PASSWORD"); p != "" {
		return p, nil
	}
	return "", Usagef("no new password given: use --new-password-file FILE or set CAIRN_NEW_PASSWORD")
}

func readPassword(file, flagName string) (string, error) {
	if file != "" {
		return passwordFromFile(file, flagName)
	}
	if f := os.Getenv(EnvPasswordFile); f != "" {
		return passwordFromFile(f, "$"+EnvPasswordFile)
	}
	if p, ok := os.LookupEnv(EnvPassword); ok {
		if p == "" {
			return "", Usagef("$%s is set but empty; an empty password is not allowed", EnvPassword)
		}
		return p, nil
	}
	return "", Usagef("no password given: set %s, or use --password-file FILE (or %s)", EnvPassword, EnvPasswordFile)
}

func passwordFromFile(path, from string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", Usagef("cannot read the password file %s (from %s): %v", path, from, err)
	}
	p := strings.TrimRight(string(b), "\r\n")
	if p == "" {
		return "", Usagef("the password file %s (from %s) is empty", path, from)
	}
	return p, nil
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
