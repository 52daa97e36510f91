package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/pctencode"
)

// Attributes implements driver.Bucket with HeadObject.
func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	if key == "" {
		return nil, fmt.Errorf("s3: stat: empty key: %w", errInvalid)
	}
	h, err := b.send(ctx, &call{op: "stat", method: http.MethodHead, key: key})
	if err != nil {
		return nil, err
	}
	return headerAttributes(h)
}

// Delete implements driver.Bucket. S3 answers a delete of a missing key
// with success; gocloud's contract wants NotFound, so a HeadObject asks
// first (as s3blob did).
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if opts.BeforeDelete != nil {
		if err := opts.BeforeDelete(objhttp.NoAs); err != nil {
			return err
		}
	}
	if _, err := b.Attributes(ctx, key); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op = "delete"
		}
		return err
	}
	_, err := b.send(ctx, &call{op: "delete", method: http.MethodDelete, key: key})
	return err
}

// Copy implements driver.Bucket with CopyObject. S3 may answer 200 and
// report a failure in the body, which is checked.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(objhttp.NoAs); err != nil {
			return err
		}
	}
	if dstKey == "" || srcKey == "" {
		return fmt.Errorf("s3: copy: empty key: %w", errInvalid)
	}
	h := http.Header{}
	h.Set("X-Amz-Copy-Source", pctencode.EscapePath(b.name+"/"+escapeKey(srcKey)))
	b.setSSE(h)
	resp, err := b.do(ctx, &call{op: "copy", method: http.MethodPut, key: dstKey, header: h})
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code == "NoSuchKey" {
			e.Key = srcKey
		}
		return err
	}
	defer objhttp.DrainClose(resp.Body)
	return checkEmbeddedError(resp.Body, "copy", b.name, dstKey)
}

// checkEmbeddedError reads a 200 answer that may hold an <Error> instead
// of the expected result (CopyObject, CompleteMultipartUpload).
func checkEmbeddedError(r io.Reader, op, bucket, key string) error {
	body, err := io.ReadAll(io.LimitReader(r, objhttp.MaxErrorBody))
	if err != nil {
		return transportError(op, bucket, key, err)
	}
	var root struct{ XMLName xml.Name }
	if xml.Unmarshal(body, &root) == nil && root.XMLName.Local == "Error" {
		code, msg, region := ParseErrorBody(body)
		e := &Error{Op: op, Bucket: bucket, Key: key, Status: http.StatusOK, Code: code, Message: msg, Region: region}
		if code == "" {
			e.Code = "InternalError"
		}
		return e
	}
	return nil
}

// setSSE adds the server-side encryption headers, if configured.
func (b *bucket) setSSE(h http.Header) {
	if b.sseType == "" {
		return
	}
	h.Set("X-Amz-Server-Side-Encryption", b.sseType)
	if b.kmsKeyID != "" {
		h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", b.kmsKeyID)
	}
}

// headerAttributes reads HeadObject's (or GetObject's) headers.
func headerAttributes(h http.Header) (*driver.Attributes, error) {
	a := &driver.Attributes{
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    h.Get("Content-Encoding"),
		ContentLanguage:    h.Get("Content-Language"),
		ContentType:        h.Get("Content-Type"),
		ETag:               h.Get("ETag"),
	}
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	if s := h.Get("Content-Length"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: Content-Length %q", errMalformed, s)
		}
		a.Size = n
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			a.ModTime = t
		}
	}
	a.MD5 = etagMD5(a.ETag)
	for k, vs := range h {
		name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-")
		if !ok || len(vs) == 0 {
			continue
		}
		mk, err1 := unescapeMetadataKey(name)
		mv, err2 := url.PathUnescape(vs[0])
		if err1 != nil || err2 != nil {
			mk, mv = name, vs[0]
		}
		if a.Metadata == nil {
			a.Metadata = map[string]string{}
		}
		a.Metadata[mk] = mv
	}
	return a, nil
}

// etagMD5 returns the MD5 an ETag holds: S3's ETag of an object written in
// one request without SSE-KMS is its MD5 in hex. Multipart ETags ("-N")
// and anything else give nil.
func etagMD5(etag string) []byte {
	s := strings.Trim(etag, `"`)
	if len(s) != 32 {
		return nil
	}
	sum := make([]byte, 16)
	for i := 0; i < 16; i++ {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil
		}
		sum[i] = byte(v)
	}
	return sum
}
