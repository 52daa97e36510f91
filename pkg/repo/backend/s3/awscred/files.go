package awscred

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Profile is one profile of the shared credentials and config files, the
// two merged (the credentials file wins for a key set in both).
type Profile struct {
	// Name is the profile's name ("default" unless chosen).
	Name string
	// Found is set when either file has a section for it.
	Found bool
	// Values are its settings, names lower-cased.
	Values map[string]string
	// CredentialsFile and ConfigFile are the paths that were read (or
	// would have been, had they existed), for messages.
	CredentialsFile, ConfigFile string
}

// maxConfigFile bounds a shared file; real ones are a few KiB.
const maxConfigFile = 1 << 20

// LoadProfile reads profile name (empty: AWS_PROFILE, else "default") from
// AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and
// AWS_CONFIG_FILE (default ~/.aws/config). Missing files are not an error;
// unreadable or malformed ones are.
func LoadProfile(getenv func(string) string, name string) (*Profile, error) {
	if name == "" {
		name = getenv("AWS_PROFILE")
	}
	if name == "" {
		name = "default"
	}
	p := &Profile{Name: name, Values: map[string]string{}}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	p.CredentialsFile = filePath(getenv("AWS_SHARED_CREDENTIALS_FILE"), home, "credentials")
	p.ConfigFile = filePath(getenv("AWS_CONFIG_FILE"), home, "config")
	for _, f := range []struct {
		path, section string
	}{
		{p.ConfigFile, configSection(name)},
		{p.CredentialsFile, name},
	} {
		if f.path == "" {
			continue
		}
		sections, err := readINI(f.path)
		if err != nil {
			return nil, err
		}
		if vals, ok := sections[f.section]; ok {
			p.Found = true
			for k, v := range vals {
				p.Values[k] = v
			}
		}
	}
	return p, nil
}

// configSection is the config file's section name of a profile: "default"
// or "profile NAME".
func configSection(name string) string {
	if name == "default" {
		return name
	}
	return "profile " + name
}

// filePath is the explicit path, else ~/.aws/<base>.
func filePath(explicit, home, base string) string {
	if explicit != "" {
		if home != "" && strings.HasPrefix(explicit, "~/") {
			return filepath.Join(home, explicit[2:])
		}
		return explicit
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".aws", base)
}

// readINI reads and parses one shared file; a missing file has no sections.
func readINI(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf("shared config file", "%v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, errorf("shared config file", "read %s: %v", path, err)
	}
	if len(data) > maxConfigFile {
		return nil, errorf("shared config file", "%s is larger than %d bytes", path, maxConfigFile)
	}
	sections, err := ParseINI(data)
	if err != nil {
		return nil, errorf("shared config file", "%s: %v", path, err)
	}
	return sections, nil
}

// ParseINI parses the AWS shared file format: "[section]" headers,
// "key = value" lines, "#" and ";" comments. Indented lines below a
// "key =" with no value are a nested block (e.g. "s3 =") and are skipped,
// as cairn reads no nested setting. Keys are lower-cased; section names
// are trimmed. A line outside any section, or that is none of these, is an
// error naming the line.
func ParseINI(data []byte) (map[string]map[string]string, error) {
	sections := map[string]map[string]string{}
	var cur map[string]string
	nested := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConfigFile)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		indented := raw[0] == ' ' || raw[0] == '\t'
		if nested && indented {
			continue
		}
		nested = false
		if text[0] == '[' {
			end := strings.IndexByte(text, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: section header without ']'", line)
			}
			name := strings.Join(strings.Fields(text[1:end]), " ")
			if name == "" {
				return nil, fmt.Errorf("line %d: empty section name", line)
			}
			if sections[name] == nil {
				sections[name] = map[string]string{}
			}
			cur = sections[name]
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value", line)
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: setting outside any [section]", line)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if k == "" {
			return nil, fmt.Errorf("line %d: empty key", line)
		}
		if v == "" {
			nested = true
			continue
		}
		cur[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return sections, nil
}
