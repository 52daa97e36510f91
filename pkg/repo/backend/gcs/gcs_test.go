package gcs

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"cloud.google.com/go/compute/metadata"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
)

func TestParseQuery(t *testing.T) {
	if c, err := ParseQuery(url.Values{"anonymous": {"true"}}); err != nil || !c.Anonymous {
		t.Fatalf("anonymous=true: %+v %v", c, err)
	}
	for q, mention := range map[string]string{
		"grpc=true":       "JSON API",
		"colour=blue":     `"colour"`,
		"anonymous=maybe": "true or false",
		"access_id=x":     "signed URLs",
	} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseQuery(v); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), mention) {
			t.Errorf("%s: %v, want ErrInvalid mentioning %s", q, err, mention)
		}
	}
}

// A key that is not a usable service account key is refused before any
// request, without quoting it.
func TestServiceAccountKeyChecked(t *testing.T) {
	for _, key := range []string{
		`not json`,
		`{"type":"authorized_user","private_key":"s3cr3t"}`,
		`{"type":"service_account","private_key":"s3cr3t"}`,
		`{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\nczNjcjN0\n-----END PRIVATE KEY-----\n"}`,
	} {
		_, _, err := Open(t.Context(), "bucket", Config{ServiceAccountJSON: []byte(key)})
		if !errors.Is(err, errs.ErrInvalid) || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "czNjcjN0") {
			t.Errorf("%s: %v, want ErrInvalid without the key", key, err)
		}
	}
}

// Without any Google credentials, opening fails at once naming what was
// tried, as ErrNoCredentials.
func TestNoDefaultCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv(EmulatorEnv, "")
	t.Setenv("GCE_METADATA_HOST", "")
	if metadata.OnGCE() {
		t.Skip("skipping: on GCE the metadata server has credentials")
	}
	_, _, err := Open(t.Context(), "bucket", Config{})
	if !errors.Is(err, errs.ErrNoCredentials) || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("no credentials: %v, want ErrNoCredentials naming what was tried", err)
	}
}
