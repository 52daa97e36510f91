package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// A write is held in memory up to a part size and sent in Close as one
// PutObject, signed with the body's SHA-256. A longer write becomes a
// multipart upload: each full part is sent (with its own SHA-256) when the
// next byte arrives, so one part is in memory at a time, and Close sends
// the last part and completes the upload. Nothing is visible under the key
// until Close succeeds; a failed or canceled write aborts its upload so no
// parts are left behind to be billed.
//
// Callers that hold the whole object already (the engine's Backend.Put)
// should use blob.Bucket.Upload with a *bytes.Reader: the writer then
// hashes and sends the caller's memory directly, without a copy.

// maxParts is S3's limit of parts in one upload.
const maxParts = 10000

// maxPutSize is S3's limit for a single PutObject.
const maxPutSize = 5 << 30

// abortTimeout bounds the clean-up of a failed upload.
const abortTimeout = 30 * time.Second

// NewTypedWriter implements driver.Bucket.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if key == "" {
		return nil, fmt.Errorf("s3: write: empty key: %w", errInvalid)
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(objhttp.NoAs); err != nil {
			return nil, err
		}
	}
	h := http.Header{}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Content-Type", contentType)
	set("Cache-Control", opts.CacheControl)
	set("Content-Disposition", opts.ContentDisposition)
	set("Content-Encoding", opts.ContentEncoding)
	set("Content-Language", opts.ContentLanguage)
	for k, v := range opts.Metadata {
		h.Set("X-Amz-Meta-"+escapeMetadataKey(k), url.PathEscape(v))
	}
	b.setSSE(h)
	part := b.partSize
	if opts.BufferSize >= minPartSize {
		part = opts.BufferSize
	}
	return &writer{ctx: ctx, b: b, key: key, header: h, md5: opts.ContentMD5, ifNotExist: opts.IfNotExist, partSize: part}, nil
}

// writer implements driver.Writer and driver.Uploader.
type writer struct {
	ctx        context.Context
	b          *bucket
	key        string
	header     http.Header // the object's headers
	md5        []byte      // Content-MD5 for a single PutObject
	ifNotExist bool
	partSize   int

	buf      []byte
	uploadID string   // set once a multipart upload started
	etags    []string // of the parts sent, in order
	err      error    // the first failure; every later call returns it
	done     bool     // Close (or Upload) finished
}

// Write implements io.Writer.
func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("s3: write %s: write after close", svc.Target(w.b.name, w.key))
	}
	written := 0
	for len(p) > 0 {
		if len(w.buf) == w.partSize {
			if err := w.sendPart(); err != nil {
				w.fail(err)
				return written, err
			}
		}
		n := min(w.partSize-len(w.buf), len(p))
		w.grow(n)
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
		written += n
	}
	return written, nil
}

// grow makes room for n more bytes, doubling up to one part.
func (w *writer) grow(n int) {
	if len(w.buf)+n <= cap(w.buf) {
		return
	}
	c := min(w.partSize, max(2*cap(w.buf), len(w.buf)+n, 64<<10))
	nb := make([]byte, len(w.buf), c)
	copy(nb, w.buf)
	w.buf = nb
}

// Upload implements driver.Uploader (blob.Bucket.Upload). Given a
// *bytes.Reader it sends the caller's memory as one PutObject, hashed and
// streamed from the slice without a copy. The outcome is reported by
// Close, which gocloud calls next and whose error, unlike Upload's, it maps
// to a portable code.
func (w *writer) Upload(r io.Reader) error {
	if br, ok := r.(*bytes.Reader); ok && len(w.buf) == 0 && w.uploadID == "" && br.Len() <= maxPutSize && w.err == nil && !w.done {
		w.done = true
		if err := w.ctx.Err(); err != nil {
			w.err = err
			return nil
		}
		w.err = w.putReader(br)
		return nil
	}
	if _, err := io.Copy(w, r); err != nil && w.err == nil {
		w.fail(err)
	}
	return nil
}

// Close implements io.Closer: it sends what is buffered and makes the
// object visible. If the context was canceled nothing more is sent, the
// upload is aborted and the context's error returned.
func (w *writer) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return err
	}
	if w.err != nil {
		return w.err
	}
	if w.uploadID == "" {
		w.err = w.putReader(bytes.NewReader(w.buf))
		w.buf = nil
		return w.err
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			w.fail(err)
			return err
		}
	}
	w.buf = nil
	if err := w.complete(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// putReader sends the rest of br as one PutObject.
func (w *writer) putReader(br *bytes.Reader) error {
	pos, _ := br.Seek(0, io.SeekCurrent)
	h := sha256.New()
	if _, err := br.WriteTo(h); err != nil {
		return err
	}
	if _, err := br.Seek(pos, io.SeekStart); err != nil {
		return err
	}
	hdr := w.header.Clone()
	if len(w.md5) > 0 {
		hdr.Set("Content-Md5", base64.StdEncoding.EncodeToString(w.md5))
	}
	if w.ifNotExist {
		hdr.Set("If-None-Match", "*")
	}
	_, err := w.b.send(w.ctx, &call{op: "write", method: http.MethodPut, key: w.key, header: hdr,
		reader: br, size: int64(br.Len()), hash: hex.EncodeToString(h.Sum(nil))})
	return err
}

// sendPart starts the multipart upload if needed and sends the buffer as
// the next part.
func (w *writer) sendPart() error {
	if w.uploadID == "" {
		if err := w.start(); err != nil {
			return err
		}
	}
	if len(w.etags) == maxParts {
		return fmt.Errorf("s3: write %s: object larger than %d parts of %d bytes; set a larger WriterOptions.BufferSize: %w",
			svc.Target(w.b.name, w.key), maxParts, w.partSize, errInvalid)
	}
	q := url.Values{"partNumber": {strconv.Itoa(len(w.etags) + 1)}, "uploadId": {w.uploadID}}
	h, err := w.b.send(w.ctx, &call{op: "write", method: http.MethodPut, key: w.key, query: q, body: w.buf})
	if err != nil {
		return err
	}
	etag := h.Get("ETag")
	if etag == "" {
		return fmt.Errorf("s3: write %s: %w: part %d has no ETag", svc.Target(w.b.name, w.key), errMalformed, len(w.etags)+1)
	}
	w.etags = append(w.etags, etag)
	w.buf = w.buf[:0]
	return nil
}

// start creates the multipart upload.
func (w *writer) start() error {
	resp, err := w.b.do(w.ctx, &call{op: "write", method: http.MethodPost, key: w.key, query: url.Values{"uploads": {""}}, header: w.header})
	if err != nil {
		return err
	}
	defer objhttp.DrainClose(resp.Body)
	id, err := decodeUploadID(resp.Body)
	if err != nil {
		return fmt.Errorf("s3: write %s: %w", svc.Target(w.b.name, w.key), err)
	}
	w.uploadID = id
	return nil
}

// completeXML is CompleteMultipartUpload's request body.
type completeXML struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

// complete finishes the upload; with IfNotExist only if the key is absent.
func (w *writer) complete() error {
	var c completeXML
	for i, e := range w.etags {
		c.Parts = append(c.Parts, struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		}{i + 1, e})
	}
	body, err := xml.Marshal(c)
	if err != nil {
		return err
	}
	h := http.Header{"Content-Type": {"application/xml"}}
	if w.ifNotExist {
		h.Set("If-None-Match", "*")
	}
	resp, err := w.b.do(w.ctx, &call{op: "write", method: http.MethodPost, key: w.key, query: url.Values{"uploadId": {w.uploadID}}, header: h, body: body})
	if err != nil {
		return err
	}
	defer objhttp.DrainClose(resp.Body)
	return checkEmbeddedError(resp.Body, "write", w.b.name, w.key)
}

// fail records err and aborts the multipart upload, if one was started,
// so its parts do not linger (and cost) in the bucket.
func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.buf = nil
	if w.uploadID == "" {
		return
	}
	id := w.uploadID
	w.uploadID = ""
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	if _, aerr := w.b.send(ctx, &call{op: "abort", method: http.MethodDelete, key: w.key, query: url.Values{"uploadId": {id}}}); aerr != nil {
		var e *Error
		if !errors.As(aerr, &e) || e.Code != "NoSuchUpload" {
			w.err = fmt.Errorf("%w (aborting the multipart upload failed too, so its parts may remain until a lifecycle rule removes them: %v)", w.err, aerr)
		}
	}
}
