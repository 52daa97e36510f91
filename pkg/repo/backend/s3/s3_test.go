package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

const alphabet = "abcdefghijklmnopqrstuvwxyz!" // 27 bytes

func openFake(t *testing.T) (*fakeS3, *blob.Bucket) {
	t.Helper()
	f := newFakeS3(t, "cairn-test")
	b := blob.NewBucket(f.open(t))
	t.Cleanup(func() { b.Close() })
	return f, b
}

// Offset and length follow driver.Bucket: length < 0 reads to the end, a
// range past the end is cut or empty (not an error), length 0 reads nothing.
func TestReadRanges(t *testing.T) {
	f, b := openFake(t)
	f.put("obj", []byte(alphabet))
	f.put("empty", nil)
	ctx := t.Context()
	for _, tc := range []struct {
		key            string
		offset, length int64
		want           string
	}{
		{"obj", 0, -1, alphabet},
		{"obj", 10, -1, alphabet[10:]},
		{"obj", 10, 5, alphabet[10:15]},
		{"obj", 25, 10, alphabet[25:]},
		{"obj", 27, 5, ""},
		{"obj", 100, -1, ""},
		{"obj", 0, 0, ""},
		{"obj", 5, 0, ""},
		{"empty", 0, -1, ""},
		{"empty", 0, 10, ""},
	} {
		r, err := b.NewRangeReader(ctx, tc.key, tc.offset, tc.length, nil)
		if err != nil {
			t.Fatalf("%s[%d+%d]: %v", tc.key, tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("%s[%d+%d] = %q, %v; want %q", tc.key, tc.offset, tc.length, got, err, tc.want)
		}
		size := int64(len(alphabet))
		if tc.key == "empty" {
			size = 0
		}
		if r.Size() != size || r.ModTime().IsZero() || r.ContentType() != "application/octet-stream" {
			t.Errorf("%s[%d+%d]: size %d, modtime %v, type %q", tc.key, tc.offset, tc.length, r.Size(), r.ModTime(), r.ContentType())
		}
	}
	for _, length := range []int64{-1, 0, 4} {
		if _, err := b.NewRangeReader(ctx, "missing", 0, length, nil); gcerrors.Code(err) != gcerrors.NotFound {
			t.Errorf("missing object, length %d: %v, want NotFound", length, err)
		}
	}
	if got := f.requestLog(); !strings.Contains(strings.Join(got, "\n"), "GET /cairn-test/obj") {
		t.Errorf("requests %v: want path-style GETs", got)
	}
}

// A server that ignores Range (answers 200 with the whole object) still
// yields exactly the asked-for bytes.
func TestReadRangeIgnored(t *testing.T) {
	f, b := openFake(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		io.WriteString(w, alphabet)
		return true
	})
	got, err := b.ReadAll(t.Context(), "obj")
	if err != nil || string(got) != alphabet {
		t.Fatalf("whole: %q %v", got, err)
	}
	r, err := b.NewRangeReader(t.Context(), "obj", 3, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != alphabet[3:7] || r.Size() != 27 {
		t.Fatalf("range = %q size %d", got, r.Size())
	}
}

// Listing pages through continuation tokens, groups by any delimiter,
// decodes url-encoded keys (and the driver's escapes), and does not end
// with an empty page even where the server says "truncated" too often.
func TestListPaging(t *testing.T) {
	f, b := openFake(t)
	keys := []string{"a/1", "a/2", "a/b/3", "c\\d\\e", "c\\f", "sp ace+plus&amp", "tab\tkey", "up/../x", "x//y"}
	for _, k := range keys {
		if err := b.WriteAll(t.Context(), k, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, full := range []bool{false, true} {
		f.truncateFull = full
		for _, size := range []int{1, 2, 3, len(keys), 1000} {
			var got []string
			var pages int
			token := blob.FirstPageToken
			for {
				objs, next, err := b.ListPage(t.Context(), token, size, nil)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(objs) == 0 || len(objs) > size {
					t.Fatalf("page size %d: page %d has %d entries", size, pages, len(objs))
				}
				for _, o := range objs {
					got = append(got, o.Key)
				}
				if len(next) == 0 {
					break
				}
				token = next
			}
			if strings.Join(got, "|") != strings.Join(keys, "|") {
				t.Errorf("page size %d (truncateFull %v): listed %q, want %q", size, full, got, keys)
			}
		}
	}
	for _, tc := range []struct{ prefix, delim, want string }{
		{"", "/", "a/ c\\d\\e c\\f sp ace+plus&amp tab\tkey up/ x/"},
		{"a/", "/", "a/1 a/2 a/b/"},
		{"c\\", "\\", "c\\d\\ c\\f"},
	} {
		var got []string
		iter := b.List(&blob.ListOptions{Prefix: tc.prefix, Delimiter: tc.delim})
		for {
			o, err := iter.Next(t.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.Key)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("List(%q, %q) = %q, want %q", tc.prefix, tc.delim, strings.Join(got, " "), tc.want)
		}
	}
	if _, ok := f.get("up/..__0x2f__x"); !ok {
		t.Error(`"up/../x" not stored under s3blob's escaped name`)
	}
}

// IfNotExist is If-None-Match: *; the service's 412 is FailedPrecondition
// (the backend's ErrExists) and the first object stays.
func TestConditionalCreate(t *testing.T) {
	f, b := openFake(t)
	opts := &blob.WriterOptions{IfNotExist: true}
	if err := b.WriteAll(t.Context(), "k", []byte("first"), opts); err != nil {
		t.Fatal(err)
	}
	err := b.WriteAll(t.Context(), "k", []byte("second"), opts)
	if gcerrors.Code(err) != gcerrors.FailedPrecondition || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create: %v, want FailedPrecondition", err)
	}
	// The zero-copy path reports the same, through Close's error mapping.
	err = b.Upload(t.Context(), "k", bytes.NewReader([]byte("third")), &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("Upload over an existing key: %v, want FailedPrecondition", err)
	}
	if got, _ := f.get("k"); string(got) != "first" {
		t.Fatalf("object = %q", got)
	}
	// A concurrent conditional write in flight (409) is worth retrying.
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		s3Error(w, 409, "ConditionalRequestConflict", "A conflicting operation is in progress")
		return true
	})
	err = b.WriteAll(t.Context(), "k2", []byte("x"), opts)
	if c := gcerrors.Code(err); c != gcerrors.Internal {
		t.Fatalf("409 ConditionalRequestConflict: code %v (%v), want Internal (retried)", c, err)
	}
}

// Upload with a *bytes.Reader is one PutObject sent from the caller's
// slice; As tells the backend it may use it.
func TestDirectUpload(t *testing.T) {
	f, b := openFake(t)
	var direct directupload.Marker
	if !b.As(&direct) || !bool(direct) {
		t.Fatal("As(*directupload.Marker) = false")
	}
	data := bytes.Repeat([]byte("0123456789"), 700_000) // 7 MB, above the 5 MiB part size
	if err := b.Upload(t.Context(), "big", bytes.NewReader(data), &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("big"); !bytes.Equal(got, data) {
		t.Fatal("stored data differs")
	}
	if log := strings.Join(f.requestLog(), "\n"); strings.Contains(log, "uploads") || strings.Count(log, "PUT /cairn-test/big") != 1 {
		t.Fatalf("want one PutObject, got:\n%s", log)
	}
}

// Writes larger than a part are multipart uploads: each part is signed with
// its own SHA-256 (the fake checks), the upload is completed with
// If-None-Match for write-once creates, and the object appears only then.
func TestMultipart(t *testing.T) {
	f, b := openFake(t)
	data := make([]byte, 2*minPartSize+12345)
	rand.Read(data)
	w, err := b.NewWriter(t.Context(), "mp", &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		n := min(len(p), 1<<20+7)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if _, ok := f.get("mp"); ok {
		t.Fatal("object visible before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("mp"); !bytes.Equal(got, data) {
		t.Fatal("stored data differs")
	}
	log := strings.Join(f.requestLog(), "\n")
	if strings.Count(log, "partNumber=") != 3 || !strings.Contains(log, "POST /cairn-test/mp?uploads") {
		t.Fatalf("requests:\n%s", log)
	}
	// A second write-once multipart upload of the key fails at completion.
	err = b.WriteAll(t.Context(), "mp", data, &blob.WriterOptions{IfNotExist: true})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("second create: %v", err)
	}
	if len(f.aborted) != 1 {
		t.Fatalf("aborted uploads %v: the failed completion must abort its upload", f.aborted)
	}
}

// A failing part aborts the upload; nothing becomes visible.
func TestMultipartAbortOnFailure(t *testing.T) {
	f, b := openFake(t)
	var parts atomic.Int32
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("partNumber") != "" && parts.Add(1) == 2 {
			s3Error(w, 500, "InternalError", "We encountered an internal error. Please try again.")
			return true
		}
		return false
	})
	err := b.WriteAll(t.Context(), "mp", make([]byte, 3*minPartSize), nil)
	if gcerrors.Code(err) != gcerrors.Internal {
		t.Fatalf("write: %v, want Internal (retried by the backend)", err)
	}
	if _, ok := f.get("mp"); ok || len(f.aborted) != 1 || len(f.uploads) != 0 {
		t.Fatalf("object present %v, aborted %v, open uploads %d", ok, f.aborted, len(f.uploads))
	}
}

// Canceling the context aborts a multipart upload and returns Canceled;
// a single-request write sends nothing.
func TestCanceledWrites(t *testing.T) {
	f, b := openFake(t)
	for _, size := range []int{10, 2 * minPartSize} {
		ctx, cancel := context.WithCancel(t.Context())
		w, err := b.NewWriter(ctx, fmt.Sprint("c", size), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := w.Close(); gcerrors.Code(err) != gcerrors.Canceled {
			t.Fatalf("size %d: Close after cancel: %v", size, err)
		}
		if _, ok := f.get(fmt.Sprint("c", size)); ok {
			t.Fatalf("size %d: canceled write is visible", size)
		}
	}
	if len(f.aborted) != 1 {
		t.Fatalf("aborted %v, want the one multipart upload", f.aborted)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.ReadAll(ctx, "x"); gcerrors.Code(err) != gcerrors.Canceled {
		t.Fatalf("read with a canceled context: %v", err)
	}
}

// Attributes come from HeadObject; the ETag of a single-request object is
// its MD5, metadata names and values survive escaping.
func TestAttributesAndMetadata(t *testing.T) {
	_, b := openFake(t)
	md := map[string]string{"plain": "v", "we:ird=na@me": "välue / with spaces"}
	err := b.WriteAll(t.Context(), "m", []byte("hello"), &blob.WriterOptions{Metadata: md, ContentType: "text/plain", CacheControl: "no-cache"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := b.Attributes(t.Context(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != 5 || a.ContentType != "text/plain" || a.CacheControl != "no-cache" || fmt.Sprintf("%x", a.MD5) != "5d41402abc4b2a76b9719d911017c592" ||
		a.ETag == "" || a.ModTime.IsZero() || a.Metadata["we:ird=na@me"] != md["we:ird=na@me"] || a.Metadata["plain"] != "v" {
		t.Fatalf("attributes %+v", a)
	}
	if _, err := b.Attributes(t.Context(), "missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("missing: %v", err)
	}
}

// Delete of a missing key is NotFound (S3 itself says 204); Copy works and
// reports a failure sent inside a 200 answer.
func TestDeleteAndCopy(t *testing.T) {
	f, b := openFake(t)
	f.put("src", []byte("data"))
	if err := b.Delete(t.Context(), "missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("delete missing: %v", err)
	}
	if err := b.Copy(t.Context(), "dst", "src", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("dst"); string(got) != "data" {
		t.Fatalf("copy = %q", got)
	}
	if err := b.Copy(t.Context(), "dst2", "missing", nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("copy of a missing source: %v", err)
	}
	if err := b.Delete(t.Context(), "src"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.get("src"); ok {
		t.Fatal("not deleted")
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("X-Amz-Copy-Source") == "" {
			return false
		}
		io.WriteString(w, `<?xml version="1.0"?><Error><Code>InternalError</Code><Message>copy failed midway</Message></Error>`)
		return true
	})
	if err := b.Copy(t.Context(), "dst3", "dst", nil); gcerrors.Code(err) != gcerrors.Internal || !strings.Contains(err.Error(), "copy failed midway") {
		t.Fatalf("error inside 200: %v", err)
	}
}

// Server-side encryption headers go on writes and copies.
func TestSSEHeaders(t *testing.T) {
	f := newFakeS3(t, "cairn-test")
	o := f.options()
	o.SSEType, o.KMSKeyID = "aws:kms", "arn:aws:kms:eu-west-1:1:key/k"
	drv, err := openBucket(t.Context(), f.bucket, o)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		seen = append(seen, r.Method+" "+r.Header.Get("X-Amz-Server-Side-Encryption")+" "+r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
		return false
	})
	b := blob.NewBucket(drv)
	defer b.Close()
	if err := b.WriteAll(t.Context(), "k", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(t.Context(), "k2", "k", nil); err != nil {
		t.Fatal(err)
	}
	want := "PUT aws:kms arn:aws:kms:eu-west-1:1:key/k"
	if len(seen) != 2 || seen[0] != want || seen[1] != want {
		t.Fatalf("SSE headers %q", seen)
	}
}

// Anonymous requests carry no signature.
func TestAnonymous(t *testing.T) {
	f := newFakeS3(t, "pub")
	o := f.options()
	o.Credentials, o.Anonymous = nil, true
	drv, err := openBucket(t.Context(), "pub", o)
	if err != nil {
		t.Fatal(err)
	}
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool { return true })
	var auth atomic.Value
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization") + r.Header.Get("X-Amz-Date"))
		io.WriteString(w, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
	})
	b := blob.NewBucket(drv)
	defer b.Close()
	if _, _, err := b.ListPage(t.Context(), blob.FirstPageToken, 10, nil); err != nil {
		t.Fatal(err)
	}
	if got := auth.Load().(string); got != "" {
		t.Fatalf("anonymous request was signed: %q", got)
	}
}

// A request that failed is reported without anything secret in it.
func TestErrorsCarryNoSecrets(t *testing.T) {
	f, b := openFake(t)
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		s3Error(w, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match. <StringToSign>AWS4-HMAC-SHA256 x</StringToSign> "+r.Header.Get("Authorization"))
		return true
	})
	_, err := b.ReadAll(t.Context(), "k")
	if gcerrors.Code(err) != gcerrors.PermissionDenied {
		t.Fatalf("code %v", gcerrors.Code(err))
	}
	msg := err.Error()
	if !strings.Contains(msg, "secret access key is wrong") || strings.Contains(msg, "Signature=") && !strings.Contains(msg, "Signature=REDACTED") {
		t.Fatalf("message %q", msg)
	}
	var e *Error
	if !b.ErrorAs(err, &e) || e.Code != "SignatureDoesNotMatch" || e.Status != 403 {
		t.Fatalf("ErrorAs: %v %+v", errors.As(err, &e), e)
	}
}
