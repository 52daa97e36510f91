package s3

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
)

func TestParseQuery(t *testing.T) {
	c, err := ParseQuery(url.Values{
		"region": {"eu-west-1"}, "endpoint": {"http://127.0.0.1:9000"}, "use_path_style": {"true"},
		"disable_https": {"1"}, "anonymous": {"false"}, "profile": {"backup"}, "ssetype": {"aws:kms"}, "kmskeyid": {"k1"},
	})
	want := Config{Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", UsePathStyle: true, DisableHTTPS: true,
		Profile: "backup", SSEType: "aws:kms", KMSKeyID: "k1"}
	if err != nil || c != want {
		t.Fatalf("ParseQuery = %+v, %v; want %+v", c, err, want)
	}
	if c, err := ParseQuery(url.Values{"ssetype": {"aes256"}}); err != nil || c.SSEType != "AES256" {
		t.Errorf("ssetype=aes256: %+v %v, want AES256", c, err)
	}
	for q, mention := range map[string]string{
		"colour=blue":            `"colour"`,
		"s3ForcePathStyle=true":  "use_path_style=true",
		"accelerate=true":        "s3-accelerate",
		"use_path_style=maybe":   "true or false",
		"region=a&region=b":      "once",
		"ssetype=rot13":          "AES256",
		"kmskeyid=k":             "ssetype=aws:kms",
		"endpoint=127.0.0.1:900": "http(s)://",
	} {
		v, _ := url.ParseQuery(q)
		_, err := ParseQuery(v)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), mention) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %s", q, err, mention)
		}
	}
}

// The region comes from the URL, then AWS_REGION, then
// AWS_DEFAULT_REGION (which the SDK alone would ignore), then the
// profile, then DefaultRegion.
func TestRegion(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", writeFile(t, dir, "config", "[profile eu]\nregion = eu-central-1\n"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/none")
	for _, tc := range []struct{ url, env, dflt, profile, want string }{
		{"ap-south-1", "us-west-2", "us-east-2", "eu", "ap-south-1"},
		{"", "us-west-2", "us-east-2", "eu", "us-west-2"},
		{"", "", "us-east-2", "eu", "us-east-2"},
		{"", "", "", "eu", "eu-central-1"},
		{"", "", "", "", DefaultRegion},
	} {
		t.Setenv("AWS_REGION", tc.env)
		t.Setenv("AWS_DEFAULT_REGION", tc.dflt)
		client, err := NewClient(t.Context(), Config{Region: tc.url, Profile: tc.profile, Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := client.Options().Region; got != tc.want {
			t.Errorf("%+v: region %q, want %q", tc, got, tc.want)
		}
	}
}

// Explicit keys stand alone: a process whose AWS_PROFILE names a profile
// that does not exist (or whose files hold other keys) still opens with
// them, and profile= next to them is refused.
func TestKeysIgnoreTheProcessProfile(t *testing.T) {
	t.Setenv("AWS_PROFILE", "nonexistent")
	t.Setenv("AWS_CONFIG_FILE", writeFile(t, t.TempDir(), "config", "[profile other]\nregion = eu-west-1\n"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "environment")
	client, err := NewClient(t.Context(), Config{Keys: &Keys{AccessKeyID: "AKIAEXPLICIT", SecretAccessKey: "explicit"}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := client.Options().Credentials.Retrieve(t.Context())
	if err != nil || creds.AccessKeyID != "AKIAEXPLICIT" {
		t.Errorf("credentials %q %v, want the explicit keys", creds.AccessKeyID, err)
	}
	if _, err := NewClient(t.Context(), Config{Profile: "other", Keys: &Keys{AccessKeyID: "a", SecretAccessKey: "b"}}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("profile= with explicit keys: %v, want ErrInvalid", err)
	}
}
