package objhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

var (
	errInvalid   = errors.New("invalid argument")
	errMalformed = errors.New("malformed answer from the test store")
	errNotHere   = errors.New("not implemented here")
)

var svc = Service{Name: "t", Scheme: "ts", Invalid: errInvalid, Malformed: errMalformed, Unimplemented: errNotHere}

func TestTarget(t *testing.T) {
	for _, c := range []struct{ bucket, key, want string }{
		{"b", "", "ts://b"},
		{"b", "data/ab", "ts://b/data/ab"},
		{"b", "a\nb\x1b", `ts://b/a\nb\x1b`},
	} {
		if got := svc.Target(c.bucket, c.key); got != c.want {
			t.Errorf("Target(%q, %q) = %q, want %q", c.bucket, c.key, got, c.want)
		}
	}
}

func TestTransportErrorDropsURL(t *testing.T) {
	err := svc.TransportError("read", "b", "k", &url.Error{Op: "Get", URL: "https://h/b/k?sig=secret", Err: io.ErrUnexpectedEOF})
	if strings.Contains(err.Error(), "secret") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("TransportError = %v", err)
	}
	if want := "t: read ts://b/k: unexpected EOF"; err.Error() != want {
		t.Fatalf("TransportError = %q, want %q", err, want)
	}
}

func TestCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want gcerrors.ErrorCode
	}{
		{fmt.Errorf("x: %w", context.Canceled), gcerrors.Canceled},
		{context.DeadlineExceeded, gcerrors.DeadlineExceeded},
		{fmt.Errorf("x: %w", errNotHere), gcerrors.Unimplemented},
		{fmt.Errorf("x: %w", errInvalid), gcerrors.InvalidArgument},
		{fmt.Errorf("x: %w", errMalformed), gcerrors.Internal},
		{io.ErrUnexpectedEOF, gcerrors.Unknown},
	} {
		if got := svc.Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	for status, want := range map[int]gcerrors.ErrorCode{
		404: gcerrors.NotFound, 401: gcerrors.PermissionDenied, 403: gcerrors.PermissionDenied,
		412: gcerrors.FailedPrecondition, 429: gcerrors.ResourceExhausted, 501: gcerrors.Unimplemented,
		408: gcerrors.DeadlineExceeded, 504: gcerrors.DeadlineExceeded, 503: gcerrors.Internal,
		400: gcerrors.InvalidArgument, 304: gcerrors.Unknown,
	} {
		if got := StatusCode(status); got != want {
			t.Errorf("StatusCode(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestRangeHeader(t *testing.T) {
	for _, c := range []struct {
		offset, length int64
		want           string
	}{{0, -1, ""}, {5, -1, "bytes=5-"}, {0, 1, "bytes=0-0"}, {10, 5, "bytes=10-14"}} {
		if got := RangeHeader(c.offset, c.length); got != c.want {
			t.Errorf("RangeHeader(%d, %d) = %q, want %q", c.offset, c.length, got, c.want)
		}
	}
}

// response is an answer with body "0123456789" (or the part asked for).
func response(status int, h map[string]string, body string) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	for k, v := range h {
		resp.Header.Set(k, v)
	}
	return resp
}

func TestNewReader(t *testing.T) {
	for _, c := range []struct {
		name           string
		resp           *http.Response
		offset, length int64
		stored         string
		want           string
		size           int64
	}{
		{"partial", response(206, map[string]string{"Content-Range": "bytes 2-4/10"}, "234"), 2, 3, "", "234", 10},
		{"range ignored", response(200, nil, "0123456789"), 2, 3, "", "234", 10},
		{"to the end, range ignored", response(200, nil, "0123456789"), 7, -1, "", "789", 10},
		{"stored size", response(200, map[string]string{"X-Stored": "42"}, "0123456789"), 0, -1, "X-Stored", "0123456789", 42},
		{"bad stored size", response(200, map[string]string{"X-Stored": "-1"}, "0123456789"), 0, -1, "X-Stored", "0123456789", 10},
	} {
		r, err := svc.NewReader(c.resp, "b", "k", c.offset, c.length, c.stored)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != c.want || r.Attributes().Size != c.size || r.Attributes().ContentType != "application/octet-stream" {
			t.Errorf("%s: read %q size %d type %q, want %q size %d", c.name, got, r.Attributes().Size, r.Attributes().ContentType, c.want, c.size)
		}
	}
	bad := response(206, map[string]string{"Content-Range": "bytes 3-4/10"}, "34")
	closed := &closeCounter{Reader: bad.Body}
	bad.Body = closed
	_, err := svc.NewReader(bad, "b", "k", 2, 3, "")
	if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "read ts://b/k") {
		t.Errorf("a range from another offset: %v, want malformed, naming the read", err)
	}
	if closed.n != 1 {
		t.Errorf("body closed %d times after a failed NewReader, want 1", closed.n)
	}
}

func TestEmptyAndBeforeRead(t *testing.T) {
	r := Empty(&driver.Attributes{ContentType: "text/plain", Size: 7})
	hookErr := errors.New("hook")
	if _, err := BeforeRead(r, &driver.ReaderOptions{BeforeRead: func(func(any) bool) error { return hookErr }}); err != hookErr {
		t.Fatalf("BeforeRead = %v, want the hook's error", err)
	}
	got, err := BeforeRead(r, &driver.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := got.Read(make([]byte, 4)); n != 0 || got.Attributes().Size != 7 || got.Close() != nil {
		t.Fatalf("empty reader read %d bytes, attributes %+v", n, got.Attributes())
	}
}

func TestErrorLine(t *testing.T) {
	if got, want := svc.ErrorLine("read", "b", "k", "object not found", 404, "NoSuchKey", "gone"),
		"t: read ts://b/k: object not found (HTTP 404 NoSuchKey): gone"; got != want {
		t.Errorf("ErrorLine = %q, want %q", got, want)
	}
	if got, want := svc.ErrorLine("list", "b", "", "service unavailable", 503, "", ""),
		"t: list ts://b: service unavailable (HTTP 503)"; got != want {
		t.Errorf("ErrorLine without code or message = %q, want %q", got, want)
	}
}

func TestRangeRead(t *testing.T) {
	attrsCalled, openCalled := 0, 0
	attrs := func() (*driver.Attributes, error) { attrsCalled++; return &driver.Attributes{Size: 9}, nil }
	open := func() (*Reader, error) {
		openCalled++
		return svc.NewReader(response(200, nil, "0123456789"), "b", "k", 2, 3, "")
	}
	r, err := RangeRead(nil, 0, attrs, open)
	if err != nil || attrsCalled != 1 || openCalled != 0 || r.Attributes().Size != 9 {
		t.Fatalf("zero length: err %v, attrs %d, open %d", err, attrsCalled, openCalled)
	}
	r, err = RangeRead(&driver.ReaderOptions{}, 3, attrs, open)
	if err != nil || openCalled != 1 || attrsCalled != 1 {
		t.Fatalf("a range: err %v, attrs %d, open %d", err, attrsCalled, openCalled)
	}
	if got, _ := io.ReadAll(r); string(got) != "234" {
		t.Fatalf("read %q", got)
	}
	missing := errors.New("missing")
	if _, err := RangeRead(nil, 0, func() (*driver.Attributes, error) { return nil, missing }, open); err != missing {
		t.Fatalf("a zero-length read of a missing object: %v", err)
	}
	if _, err := RangeRead(nil, 5, attrs, func() (*Reader, error) { return nil, missing }); err != missing {
		t.Fatalf("a failed open: %v", err)
	}
	hookErr := errors.New("hook")
	if _, err := RangeRead(&driver.ReaderOptions{BeforeRead: func(func(any) bool) error { return hookErr }}, 3, attrs, open); err != hookErr {
		t.Fatalf("BeforeRead: %v", err)
	}
}

func TestParseContentRange(t *testing.T) {
	if start, total, err := svc.ParseContentRange("bytes 10-14/27"); err != nil || start != 10 || total != 27 {
		t.Errorf("ParseContentRange = %d, %d, %v", start, total, err)
	}
	for _, bad := range []string{"", "bytes */27", "bytes 14-10/27", "bytes 0-27/27", "items 0-1/2", "bytes -1-2/3", "bytes 0-1\x1b/2"} {
		_, _, err := svc.ParseContentRange(bad)
		if !errors.Is(err, errMalformed) || strings.Contains(err.Error(), "\x1b") {
			t.Errorf("ParseContentRange(%q) = %v, want a printable malformed error", bad, err)
		}
	}
}

func FuzzContentRange(f *testing.F) {
	f.Add("bytes 10-14/27")
	f.Fuzz(func(t *testing.T, cr string) {
		start, total, err := svc.ParseContentRange(cr)
		if err == nil && (start < 0 || total <= start) {
			t.Fatalf("%q: start %d total %d", cr, start, total)
		}
	})
}

// closeCounter counts Close calls on a response body.
type closeCounter struct {
	io.Reader
	n int
}

func (c *closeCounter) Close() error { c.n++; return nil }
