package backend_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Every store's answers are classified and retried alike, whatever SDK
// reads them: 408, 409, 429 and 5xx are retried until the attempts run
// out; 400, 401, 403 and 404 are final; 401/403 are ErrPermission and a
// 404 naming the bucket is ErrNoBucket. A stand-in server plays S3, GCS
// and Azure in turn, answering every request with one status.
func TestStoresRetryAlike(t *testing.T) {
	var status, calls atomic.Int32
	var code atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		st, c := int(status.Load()), code.Load().(string)
		switch {
		case r.URL.Path == "/storage/v1/b/cairn/o": // GCS's JSON API
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(st)
			fmt.Fprintf(w, `{"error":{"code":%d,"message":"%s","errors":[{"reason":"%s"}]}}`, st, c, c)
		default: // S3 and Azure answer in XML
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("x-ms-error-code", c)
			w.WriteHeader(st)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>stand-in</Message></Error>`, c)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", base64.StdEncoding.EncodeToString([]byte("stand-in-key")))
	urls := map[string]string{
		"s3":     "s3://cairn?endpoint=" + srv.URL + "&region=us-east-1&use_path_style=true",
		"gs":     "gs://cairn",
		"azblob": "azblob://cairn?domain=" + host + "&protocol=http&localemu=true",
	}
	missing := map[string]string{"s3": "NoSuchBucket", "gs": "notFound", "azblob": "ContainerNotFound"}
	retry := backend.Options{Retry: backend.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Millisecond}}
	for store, u := range urls {
		for _, tc := range []struct {
			status int
			want   error
			calls  int32
		}{
			{400, nil, 1}, {401, backend.ErrPermission, 1}, {403, backend.ErrPermission, 1}, {404, backend.ErrNoBucket, 1},
			{408, nil, 3}, {409, nil, 3}, {429, nil, 3}, {500, nil, 3}, {503, nil, 3},
		} {
			status.Store(int32(tc.status))
			c := "StandIn"
			if tc.status == 404 {
				c = missing[store]
			}
			code.Store(c)
			calls.Store(0)
			_, err := backend.Open(context.Background(), u, retry)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || calls.Load() != tc.calls {
				t.Errorf("%s, HTTP %d: %v after %d calls, want %v after %d", store, tc.status, err, calls.Load(), tc.want, tc.calls)
			}
		}
	}
}

// A bucket in another region than the URL's is reported as a
// configuration error naming the bucket's region (AWS answers 301 with
// x-amz-bucket-region), at once.
func TestS3WrongRegion(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("x-amz-bucket-region", "eu-west-1")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMovedPermanently)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>`)
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "stand-in-secret")
	_, err := backend.Open(context.Background(), "s3://cairn?endpoint="+srv.URL+"&region=us-east-1&use_path_style=true", backend.Options{})
	if !errors.Is(err, backend.ErrInvalid) || !strings.Contains(err.Error(), "the bucket is in region eu-west-1") || calls.Load() != 1 {
		t.Errorf("wrong region: %v after %d calls, want ErrInvalid naming eu-west-1 after 1", err, calls.Load())
	}
}
