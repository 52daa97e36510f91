package gcs

import (
	"errors"
	"net/url"
	"strings"
	"testing"

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
