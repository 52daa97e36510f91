package gcs

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

const alphabet = "abcdefghijklmnopqrstuvwxyz!" // 27 bytes

func openFake(t *testing.T) (*fakeGCS, *blob.Bucket) {
	t.Helper()
	f := newFakeGCS(t, "cairn-test")
	b := blob.NewBucket(f.open(t))
	t.Cleanup(func() { b.Close() })
	return f, b
}

// Offset and length follow driver.Bucket: length < 0 reads to the end, a
// range past the end is cut or empty (not an error), length 0 reads nothing.
func TestReadRanges(t *testing.T) {
	f, b := openFake(t)
	f.put("obj", []byte(alphabet))
	ctx := t.Context()
	for _, tc := range []struct {
		offset, length int64
		want           string
	}{
		{0, -1, alphabet},
		{0, -42, alphabet},
		{10, -1, alphabet[10:]},
		{10, 5, alphabet[10:15]},
		{25, 10, alphabet[25:]},
		{27, 5, ""},
		{100, -1, ""},
		{0, 0, ""},
		{5, 0, ""},
	} {
		r, err := b.NewRangeReader(ctx, "obj", tc.offset, tc.length, nil)
		if err != nil {
			t.Fatalf("[%d+%d]: %v", tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("[%d+%d] = %q, %v; want %q", tc.offset, tc.length, got, err, tc.want)
		}
		if r.Size() != int64(len(alphabet)) || r.ModTime().IsZero() || r.ContentType() != "application/octet-stream" {
			t.Errorf("[%d+%d]: size %d, modtime %v, type %q", tc.offset, tc.length, r.Size(), r.ModTime(), r.ContentType())
		}
	}
	for _, length := range []int64{-1, 0, 4} {
		if _, err := b.NewRangeReader(ctx, "missing", 0, length, nil); gcerrors.Code(err) != gcerrors.NotFound {
			t.Errorf("missing object, length %d: %v, want NotFound", length, err)
		}
	}
}

// A server that ignores Range (answers 200 with the whole object) still
// yields exactly the asked-for bytes.
func TestReadRangeIgnored(t *testing.T) {
	f, b := openFake(t)
	f.put("obj", []byte(alphabet))
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("alt") != "media" {
			return false
		}
		w.Header().Set("X-Goog-Stored-Content-Length", "27")
		io.WriteString(w, alphabet)
		return true
	})
	got, err := b.ReadAll(t.Context(), "obj")
	if err != nil || string(got) != alphabet {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	r, err := b.NewRangeReader(t.Context(), "obj", 3, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || string(got) != "defg" || r.Size() != 27 {
		t.Fatalf("range = %q, %v, size %d", got, err, r.Size())
	}
}

func TestAttributes(t *testing.T) {
	_, b := openFake(t)
	ctx := t.Context()
	opts := &blob.WriterOptions{ContentType: "text/plain", CacheControl: "no-cache", Metadata: map[string]string{"k": "v"}}
	if err := b.WriteAll(ctx, "dir/obj", []byte(alphabet), opts); err != nil {
		t.Fatal(err)
	}
	a, err := b.Attributes(ctx, "dir/obj")
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte(alphabet))
	if a.Size != 27 || !bytes.Equal(a.MD5, sum[:]) || a.ContentType != "text/plain" || a.CacheControl != "no-cache" ||
		a.Metadata["k"] != "v" || a.ModTime.IsZero() || !strings.HasPrefix(a.ETag, `"`) {
		t.Fatalf("attributes = %+v", a)
	}
	if _, err := b.Attributes(ctx, "dir/missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("missing: %v, want NotFound", err)
	}
}

// IfNotExist is ifGenerationMatch=0, and a lost race is FailedPrecondition
// with the first object untouched: the engine's write-once packs rely on it.
func TestConditionalCreate(t *testing.T) {
	f, b := openFake(t)
	ctx := t.Context()
	once := &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"}
	if err := b.WriteAll(ctx, "pack", []byte("first"), once); err != nil {
		t.Fatal(err)
	}
	err := b.WriteAll(ctx, "pack", []byte("second"), once)
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("second create: %v, want FailedPrecondition", err)
	}
	var e *Error
	if !b.ErrorAs(err, &e) || e.HTTPStatusCode() != http.StatusPreconditionFailed || e.Reason != "conditionNotMet" {
		t.Fatalf("ErrorAs: %+v", e)
	}
	if got, _ := f.get("pack"); string(got) != "first" {
		t.Fatalf("object = %q after a lost race", got)
	}
	var sawCondition bool
	for _, r := range f.requests {
		sawCondition = sawCondition || strings.Contains(r, "ifGenerationMatch=0")
	}
	if !sawCondition {
		t.Fatalf("no ifGenerationMatch=0 in %v", f.requests)
	}
	// Without IfNotExist a write replaces the object.
	if err := b.WriteAll(ctx, "pack", []byte("third"), nil); err != nil {
		t.Fatal(err)
	}
}

// A write streams through many Write calls and uses uploadType=media when
// there is no metadata to carry.
func TestStreamedWrite(t *testing.T) {
	f, b := openFake(t)
	ctx := t.Context()
	w, err := b.NewWriter(ctx, "big", &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for i := 0; i < 64; i++ { // 4 MiB
		chunk[0] = byte(i)
		want = append(want, chunk...)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("big"); !bytes.Equal(got, want) {
		t.Fatalf("stored %d bytes, want %d", len(got), len(want))
	}
	if !strings.Contains(strings.Join(f.requests, "\n"), "uploadType=media") {
		t.Fatalf("no media upload in %v", f.requests)
	}
	// An empty object is an upload too.
	if err := b.WriteAll(ctx, "empty", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.get("empty"); !ok || len(got) != 0 {
		t.Fatalf("empty object: %q %v", got, ok)
	}
}

// A wrong ContentMD5 cancels the write: no object appears.
func TestWriteMD5Mismatch(t *testing.T) {
	f, b := openFake(t)
	err := b.WriteAll(t.Context(), "obj", []byte("data"), &blob.WriterOptions{ContentMD5: make([]byte, 16)})
	if err == nil {
		t.Fatal("write with a wrong MD5 succeeded")
	}
	if _, ok := f.get("obj"); ok {
		t.Fatal("object stored despite the wrong MD5")
	}
}

func TestListPaging(t *testing.T) {
	f, b := openFake(t)
	var want []string
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "c", "d/x/1", "e", "f", "g", "h", "i", "j", "k"} {
		f.put(k, []byte(k))
		want = append(want, k)
	}
	ctx := t.Context()
	var got []string
	token := blob.FirstPageToken
	pages := 0
	for {
		objs, next, err := b.ListPage(ctx, token, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range objs {
			got = append(got, o.Key)
			if o.Size != int64(len(o.Key)) || o.ModTime.IsZero() || len(o.MD5) != 16 {
				t.Errorf("%s: %+v", o.Key, o)
			}
		}
		if len(next) == 0 {
			break
		}
		token = next
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || pages != 5 {
		t.Fatalf("listed %v in %d pages, want %v in 5", got, pages, want)
	}
	// With a delimiter, directories come back as IsDir entries in order.
	var dirs []string
	it := b.List(&blob.ListOptions{Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.IsDir {
			dirs = append(dirs, o.Key+"(dir)")
		} else {
			dirs = append(dirs, o.Key)
		}
	}
	if strings.Join(dirs, " ") != "a b/(dir) c d/(dir) e f g h i j k" {
		t.Fatalf("delimited listing = %v", dirs)
	}
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: "b/"})
	if err != nil || len(objs) != 3 || objs[0].Key != "b/1" {
		t.Fatalf("prefix listing = %v, %v", objs, err)
	}
}

// Keys Cloud Storage cannot hold are stored under gcsblob's escaped names.
func TestEscapedKeys(t *testing.T) {
	f, b := openFake(t)
	ctx := t.Context()
	for _, key := range []string{"line\nbreak", "up/../x", "__0x41__", "plain/key"} {
		if err := b.WriteAll(ctx, key, []byte(key), nil); err != nil {
			t.Fatal(err)
		}
		if got, err := b.ReadAll(ctx, key); err != nil || string(got) != key {
			t.Fatalf("%q: read %q, %v", key, got, err)
		}
		objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: key})
		if err != nil || len(objs) != 1 || objs[0].Key != key {
			t.Fatalf("%q: listed %v, %v", key, objs, err)
		}
	}
	if _, ok := f.get("line__0xa__break"); !ok {
		t.Fatal(`"line\nbreak" not stored as gcsblob's "line__0xa__break"`)
	}
}

func TestCopyAndDelete(t *testing.T) {
	f, b := openFake(t)
	f.rewriteSteps = 3
	ctx := t.Context()
	f.put("src", []byte("payload"))
	if err := b.Copy(ctx, "dst", "src", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("dst"); string(got) != "payload" {
		t.Fatalf("copy = %q", got)
	}
	if err := b.Copy(ctx, "dst2", "missing", nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("copy of a missing object: %v", err)
	}
	if err := b.Delete(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "src"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("second delete: %v, want NotFound", err)
	}
	if _, err := b.SignedURL(ctx, "dst", nil); gcerrors.Code(err) != gcerrors.Unimplemented {
		t.Fatalf("SignedURL: %v, want Unimplemented", err)
	}
}

// tokenTransport adds a bearer token, as oauth2.Transport would.
type tokenTransport struct{ base http.RoundTripper }

const secretToken = "ya29.SECRET-TOKEN-VALUE"

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+secretToken)
	return t.base.RoundTrip(r)
}

// Each failing status maps to its portable code, carries the status for
// the backend's retry layer, and never repeats the credentials.
func TestErrorMapping(t *testing.T) {
	f := newFakeGCS(t, "cairn-test")
	client := &http.Client{Transport: tokenTransport{f.srv.Client().Transport}}
	drv, err := openBucket(t.Context(), "cairn-test", Options{Client: client, Endpoint: f.srv.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	b := blob.NewBucket(drv)
	defer b.Close()
	f.put("obj", []byte("x"))
	for _, tc := range []struct {
		status int
		want   gcerrors.ErrorCode
	}{
		{401, gcerrors.PermissionDenied},
		{403, gcerrors.PermissionDenied},
		{404, gcerrors.NotFound},
		{412, gcerrors.FailedPrecondition},
		{429, gcerrors.ResourceExhausted},
		{500, gcerrors.Internal},
		{503, gcerrors.Internal},
		{400, gcerrors.InvalidArgument},
	} {
		f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Header.Get("Authorization") != "Bearer "+secretToken {
				t.Errorf("request without the token")
			}
			jsonError(w, tc.status, "someReason", "the service says no; request had "+r.Header.Get("Authorization"))
			return true
		})
		ops := map[string]func() error{
			"read":  func() error { _, err := b.ReadAll(t.Context(), "obj"); return err },
			"stat":  func() error { _, err := b.Attributes(t.Context(), "obj"); return err },
			"write": func() error { return b.WriteAll(t.Context(), "obj", []byte("y"), nil) },
			"list":  func() error { _, _, err := b.ListPage(t.Context(), blob.FirstPageToken, 5, nil); return err },
		}
		for op, fn := range ops {
			err := fn()
			if gcerrors.Code(err) != tc.want {
				t.Errorf("%s HTTP %d: code %v, want %v (%v)", op, tc.status, gcerrors.Code(err), tc.want, err)
			}
			var st interface{ HTTPStatusCode() int }
			if !errors.As(err, &st) || st.HTTPStatusCode() != tc.status {
				t.Errorf("%s HTTP %d: status not exposed: %v", op, tc.status, err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("%s HTTP %d: error repeats the token: %v", op, tc.status, err)
			}
		}
	}
	// A missing bucket says so, in the words backend.classify looks for.
	f.setHook(nil)
	other, err := openBucket(t.Context(), "no-such-bucket", Options{Client: client, Endpoint: f.srv.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	ob := blob.NewBucket(other)
	defer ob.Close()
	_, _, err = ob.ListPage(t.Context(), blob.FirstPageToken, 1, nil)
	if gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "bucket does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := ob.ReadAll(t.Context(), "obj"); !strings.Contains(err.Error(), "bucket does not exist") {
		t.Fatalf("read from a missing bucket: %v", err)
	}
	if _, err := b.ReadAll(t.Context(), "nope"); strings.Contains(err.Error(), "bucket does not exist") {
		t.Fatalf("missing object reported as a missing bucket: %v", err)
	}
}

// Canceling the context stops reads and writes, with the context's error,
// and a canceled write leaves no object behind.
func TestCancellation(t *testing.T) {
	f, b := openFake(t)
	f.put("obj", bytes.Repeat([]byte("z"), 1<<20))

	ctx, cancel := context.WithCancel(t.Context())
	w, err := b.NewWriter(ctx, "canceled", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial data"))
	cancel()
	if err := w.Close(); gcerrors.Code(err) != gcerrors.Canceled {
		t.Fatalf("Close after cancel: %v, want Canceled", err)
	}
	if _, ok := f.get("canceled"); ok {
		t.Fatal("a canceled write left an object")
	}

	// A write blocked on a server that stops reading is released by cancel.
	release := make(chan struct{})
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return true
	})
	defer close(release)
	ctx, cancel = context.WithCancel(t.Context())
	w, err = b.NewWriter(ctx, "stuck", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			if _, err := w.Write(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if gcerrors.Code(err) != gcerrors.Canceled {
			t.Errorf("blocked Write after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write still blocked 10 s after cancel")
	}
	w.Close()

	// A read from a server that sends part of the body and stalls.
	f.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("alt") != "media" {
			return false
		}
		w.Header().Set("X-Goog-Stored-Content-Length", "2048")
		w.Write(make([]byte, 1024))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	ctx, cancel = context.WithCancel(t.Context())
	r, err := b.NewReader(ctx, "obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadFull(r, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(r); gcerrors.Code(err) != gcerrors.Canceled {
		t.Fatalf("read after cancel: %v, want Canceled", err)
	}
}

// Upload of a *bytes.Reader is one upload request with a known length,
// sent from the caller's slice (no pipe, no chunked body) even above
// smallWrite; As tells the backend it may use it.
func TestDirectUpload(t *testing.T) {
	f, b := openFake(t)
	var lengths []int64
	f.setHook(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			lengths = append(lengths, r.ContentLength)
		}
		return false
	})
	data := bytes.Repeat([]byte("0123456789"), 400_000) // 4 MB, far above smallWrite
	once := &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true}
	if err := b.Upload(t.Context(), "pack", bytes.NewReader(data), once); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get("pack"); !bytes.Equal(got, data) {
		t.Fatal("stored data differs")
	}
	if len(lengths) != 1 || lengths[0] != int64(len(data)) {
		t.Fatalf("upload requests with lengths %v, want one of %d bytes", lengths, len(data))
	}
	err := b.Upload(t.Context(), "pack", bytes.NewReader(data), once)
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Fatalf("second create: %v, want FailedPrecondition", err)
	}
}
