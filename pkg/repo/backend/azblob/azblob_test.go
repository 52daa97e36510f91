package azblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

const alphabet = "abcdefghijklmnopqrstuvwxyz!"

// Ranged reads follow driver.Bucket exactly: length -1 reads to the end,
// a range running past the end stops there, one starting at or past the
// end reads nothing, and the reader reports the whole object's size.
func TestRangeReads(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte(alphabet))
	b := blob.NewBucket(f.bucket(t))
	ctx := context.Background()
	for _, tc := range []struct {
		offset, length int64
		want           string
		header         string
	}{
		{0, -1, alphabet, ""},
		{10, 5, "klmno", "bytes=10-14"},
		{10, -1, alphabet[10:], "bytes=10-"},
		{20, 100, alphabet[20:], "bytes=20-119"},
		{27, 5, "", "bytes=27-31"},
		{100, -1, "", "bytes=100-"},
		{3, 0, "", ""},
	} {
		r, err := b.NewRangeReader(ctx, "obj", tc.offset, tc.length, nil)
		if err != nil {
			t.Fatalf("range %d+%d: %v", tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != tc.want || r.Size() != 27 || r.ContentType() != "text/plain" {
			t.Errorf("range %d+%d = %q (size %d, type %q), %v; want %q of 27", tc.offset, tc.length, got, r.Size(), r.ContentType(), err, tc.want)
		}
		reqs := f.seen()
		if tc.length != 0 {
			if h := reqs[len(reqs)-1].Header.Get("x-ms-range"); h != tc.header && !(tc.want == "" && reqs[len(reqs)-1].Method == http.MethodHead) {
				t.Errorf("range %d+%d sent x-ms-range %q, want %q", tc.offset, tc.length, h, tc.header)
			}
		}
	}
	if _, err := b.NewRangeReader(ctx, "missing", 0, 5, nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("missing object: %v, want NotFound", err)
	}
	if _, err := b.NewRangeReader(ctx, "missing", 0, 0, nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("missing object, empty range: %v, want NotFound", err)
	}
	a, err := b.Attributes(ctx, "obj")
	if err != nil || a.Size != 27 || a.ContentType != "text/plain" || len(a.MD5) != 16 || a.ModTime.Year() != 2024 {
		t.Errorf("attributes: %+v %v", a, err)
	}
}

// Listing pages through markers with maxresults and turns BlobPrefix
// entries into directories.
func TestListPaging(t *testing.T) {
	f := newFakeBlob(t)
	for _, k := range []string{"a/1", "a/2", "b", "c/x/1", "d", "e", "f"} {
		f.put(k, []byte(k))
	}
	b := blob.NewBucket(f.bucket(t))
	ctx := context.Background()
	var keys []string
	token := blob.FirstPageToken
	pages := 0
	for {
		objs, next, err := b.ListPage(ctx, token, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range objs {
			keys = append(keys, o.Key)
		}
		if len(next) == 0 {
			break
		}
		token = next
	}
	if got := strings.Join(keys, " "); got != "a/1 a/2 b c/x/1 d e f" || pages != 3 {
		t.Errorf("paged listing = %q in %d pages, want 7 keys in 3", got, pages)
	}
	objs, _, err := b.ListPage(ctx, blob.FirstPageToken, 100, &blob.ListOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key+map[bool]string{true: "(dir)"}[o.IsDir])
	}
	if strings.Join(got, " ") != "a/(dir) b c/(dir) d e f" {
		t.Errorf("listing with delimiter = %v", got)
	}
	last := f.seen()[len(f.seen())-1].URL.Query()
	if last.Get("maxresults") != "100" || last.Get("delimiter") != "/" || last.Get("restype") != "container" {
		t.Errorf("list query = %v", last)
	}
	f.container = "other"
	if _, _, err := b.ListPage(ctx, blob.FirstPageToken, 1, nil); gcerrors.Code(err) != gcerrors.NotFound || !strings.Contains(err.Error(), "ContainerNotFound") {
		t.Errorf("missing container: %v, want NotFound naming ContainerNotFound", err)
	}
}

// A write-once create that loses is FailedPrecondition (no panic), on the
// single-request path, the block path and the zero-copy Upload of a
// *bytes.Reader, which is one Put Blob even beyond a block.
func TestConditionalCreate(t *testing.T) {
	f := newFakeBlob(t)
	drv := f.bucket(t)
	b := blob.NewBucket(drv)
	ctx := context.Background()
	opts := &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"}
	for _, data := range []string{"small", "larger than one eight-byte block"} {
		key := "k" + data[:1]
		if err := b.WriteAll(ctx, key, []byte(data), opts); err != nil {
			t.Fatal(err)
		}
		err := b.WriteAll(ctx, key, []byte(data), opts)
		if gcerrors.Code(err) != gcerrors.FailedPrecondition {
			t.Errorf("second create of %q: %v, want FailedPrecondition", data, err)
		}
		if got, _ := b.ReadAll(ctx, key); string(got) != data {
			t.Errorf("object %q = %q after the lost create", key, got)
		}
	}
	pack := []byte("a pack longer than one eight-byte block")
	before := len(f.seen())
	if err := b.Upload(ctx, "zero-copy", bytes.NewReader(pack), opts); err != nil {
		t.Fatal(err)
	}
	if sent := f.seen()[before:]; len(sent) != 1 || sent[0].URL.Query().Get("comp") != "" {
		t.Errorf("Upload of a *bytes.Reader sent %d requests, want one Put Blob", len(sent))
	}
	if got, _ := b.ReadAll(ctx, "zero-copy"); !bytes.Equal(got, pack) {
		t.Errorf("uploaded object = %q", got)
	}
	err := b.Upload(ctx, "zero-copy", bytes.NewReader(pack), opts)
	if !errors.Is(err, fs.ErrExist) || gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("Upload of an existing key: %v, want fs.ErrExist and FailedPrecondition", err)
	}
	for _, r := range f.seen() {
		if r.Method == http.MethodPut && r.URL.Query().Get("comp") != "block" && r.Header.Get("If-None-Match") != "*" {
			t.Errorf("%s %s without If-None-Match: *", r.Method, r.URL)
		}
	}
	f.fail = func(*http.Request) (int, string) { return 412, "ConditionNotMet" }
	if err := b.Upload(ctx, "raced", bytes.NewReader([]byte("x")), opts); !errors.Is(err, fs.ErrExist) {
		t.Errorf("412 ConditionNotMet: %v, want fs.ErrExist", err)
	}
}

// Bodies beyond one block go up as blocks and become visible only when
// the block list commits; a canceled write commits nothing.
func TestBlockUpload(t *testing.T) {
	f := newFakeBlob(t)
	b := blob.NewBucket(f.bucket(t))
	ctx := context.Background()
	w, err := b.NewWriter(ctx, "big", &blob.WriterOptions{ContentType: "text/plain", Metadata: map[string]string{"Some Key": "välue"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"0123", "456789ab", "cdefghij", "k"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Attributes(ctx, "big"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("object visible before Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.ReadAll(ctx, "big"); string(got) != "0123456789abcdefghijk" {
		t.Errorf("committed object = %q", got)
	}
	var blocks, lists int
	for _, r := range f.seen() {
		switch r.URL.Query().Get("comp") {
		case "block":
			blocks++
		case "blocklist":
			lists++
			if r.Header.Get("x-ms-blob-content-type") != "text/plain" || r.Header.Get("x-ms-meta-Some__0x20__Key") != "v%C3%A4lue" {
				t.Errorf("block list headers %v", r.Header)
			}
		}
	}
	if blocks != 3 || lists != 1 {
		t.Errorf("%d Put Block and %d Put Block List, want 3 and 1", blocks, lists)
	}

	cctx, cancel := context.WithCancel(ctx)
	w, err = b.NewWriter(cctx, "canceled", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("more than eight bytes"))
	cancel()
	if err := w.Close(); gcerrors.Code(err) != gcerrors.Canceled {
		t.Errorf("Close after cancel: %v, want Canceled", err)
	}
	if _, err := b.Attributes(ctx, "canceled"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("canceled write became visible: %v", err)
	}
}

// A canceled context passes through as Canceled and is not retried.
func TestCancellation(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte("x"))
	b := blob.NewBucket(f.bucket(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.ReadAll(ctx, "obj"); gcerrors.Code(err) != gcerrors.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("read with canceled context: %v", err)
	}
	if err := b.Delete(ctx, "obj"); gcerrors.Code(err) != gcerrors.Canceled {
		t.Errorf("delete with canceled context: %v", err)
	}
}

// Service errors map onto portable codes the backend acts on, and their
// messages say which refusal it was.
func TestErrorMapping(t *testing.T) {
	f := newFakeBlob(t)
	f.put("obj", []byte("x"))
	b := blob.NewBucket(f.bucket(t))
	ctx := context.Background()
	for _, tc := range []struct {
		status int
		code   string
		want   gcerrors.ErrorCode
		says   string
	}{
		{404, "BlobNotFound", gcerrors.NotFound, "object not found"},
		{404, "ContainerNotFound", gcerrors.NotFound, "container (bucket) does not exist"},
		{403, "AuthenticationFailed", gcerrors.PermissionDenied, "signature or token was not accepted"},
		{403, "AuthorizationPermissionMismatch", gcerrors.PermissionDenied, "Storage Blob Data Contributor"},
		{403, "AuthorizationFailure", gcerrors.PermissionDenied, "not authorized"},
		{503, "ServerBusy", gcerrors.Internal, "busy"},
		{500, "OperationTimedOut", gcerrors.DeadlineExceeded, "busy"},
		{500, "InternalError", gcerrors.Internal, "busy"},
		{409, "BlobAlreadyExists", gcerrors.FailedPrecondition, "already exists"},
		{400, "InvalidQueryParameterValue", gcerrors.InvalidArgument, "Bad Request"},
	} {
		f.fail = func(*http.Request) (int, string) { return tc.status, tc.code }
		_, err := b.ReadAll(ctx, "obj")
		var e *Error
		if gcerrors.Code(err) != tc.want || !b.ErrorAs(err, &e) || e.HTTPStatusCode() != tc.status ||
			!strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("HTTP %d %s: %v (code %v), want %v saying %q", tc.status, tc.code, err, gcerrors.Code(err), tc.want, tc.says)
		}
	}
	f.fail = nil
	if err := b.Delete(ctx, "missing"); gcerrors.Code(err) != gcerrors.NotFound || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("delete missing: %v, want NotFound", err)
	}
}

// Messages never carry tokens or signatures a server echoed back.
func TestErrorRedaction(t *testing.T) {
	_, msg := parseErrorBody([]byte(`<Error><Code>X</Code><Message>bad Authorization: Bearer eyJhbGciOi.abc.def and ?sv=2020&sig=c2VjcmV0%3D</Message></Error>`))
	if strings.Contains(msg, "eyJhbGciOi") || strings.Contains(msg, "c2VjcmV0") {
		t.Errorf("message keeps a secret: %q", msg)
	}
	if e := (&Error{Op: "read", Container: "c", Key: "a\nb", Status: 500}).Error(); strings.Contains(e, "\n") {
		t.Errorf("key not quoted: %q", e)
	}
	var buf bytes.Buffer
	buf.WriteString("<Error><Code>")
	buf.WriteString(strings.Repeat("C", 500))
	buf.WriteString("</Code></Error>")
	if code, _ := parseErrorBody(buf.Bytes()); len(code) > 64 {
		t.Errorf("code not bounded: %d bytes", len(code))
	}
}

// blob.Bucket.Upload of a *bytes.Reader sends the object in one Put Blob
// from the reader's memory, however small the block size.
func TestUploadFromMemory(t *testing.T) {
	f := newFakeBlob(t)
	b := blob.NewBucket(f.bucket(t))
	ctx := context.Background()
	data := []byte("a pack much longer than one eight-byte block")
	opts := &blob.WriterOptions{IfNotExist: true, ContentType: "application/octet-stream"}
	if err := b.Upload(ctx, "pack", bytes.NewReader(data), opts); err != nil {
		t.Fatal(err)
	}
	if reqs := f.seen(); len(reqs) != 1 || reqs[0].URL.RawQuery != "" || reqs[0].Header.Get("If-None-Match") != "*" {
		t.Errorf("upload took %d requests, want one Put Blob with If-None-Match", len(reqs))
	}
	if got, _ := b.ReadAll(ctx, "pack"); !bytes.Equal(got, data) {
		t.Errorf("uploaded object = %q", got)
	}
	if err := b.Upload(ctx, "pack", bytes.NewReader(data), opts); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("second upload: %v, want FailedPrecondition", err)
	}
	if err := b.Upload(ctx, "streamed", strings.NewReader(string(data)), opts); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.ReadAll(ctx, "streamed"); !bytes.Equal(got, data) {
		t.Errorf("object uploaded from a plain reader = %q", got)
	}
}
