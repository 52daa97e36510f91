package azblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// A write gathers up to one block in memory. If Close comes first, the
// object goes up in one Put Blob; otherwise every full block goes up with
// Put Block as it fills (so memory stays one block) and Close commits them
// with Put Block List. Either way the object is visible only once the last
// request succeeds, and with IfNotExist both carry If-None-Match: *, so a
// create that loses gets 409/412 (FailedPrecondition), never a replaced
// object. Uncommitted blocks of an abandoned write are discarded by the
// service after a week.

// defaultBlockSize is the block (and single-request) size of a writer
// when WriterOptions.BufferSize is zero.
const defaultBlockSize = 4 << 20

// maxBlockSize is the service's largest block.
const maxBlockSize = 4000 << 20

// maxPutBlob is the largest *bytes.Reader Upload sends in one Put Blob.
const maxPutBlob = 256 << 20

// putOptions are the headers of the request that makes an object visible.
type putOptions struct {
	contentType string
	opts        *driver.WriterOptions
}

// headers sets the object's properties, metadata and write-once condition.
// blockList selects the x-ms-blob-* forms Put Block List needs for the
// standard headers Put Blob takes directly.
func (p putOptions) headers(h http.Header, blockList bool) {
	o := p.opts
	h.Set("x-ms-blob-content-type", p.contentType)
	set := func(name, v string) {
		if v != "" {
			h.Set(name, v)
		}
	}
	set("x-ms-blob-cache-control", o.CacheControl)
	set("x-ms-blob-content-disposition", o.ContentDisposition)
	set("x-ms-blob-content-encoding", o.ContentEncoding)
	set("x-ms-blob-content-language", o.ContentLanguage)
	if len(o.ContentMD5) > 0 {
		md5 := base64.StdEncoding.EncodeToString(o.ContentMD5)
		if blockList {
			h.Set("x-ms-blob-content-md5", md5)
		} else {
			// Put Blob checks the body against it and stores it.
			h.Set("Content-MD5", md5)
		}
	}
	for k, v := range o.Metadata {
		h["x-ms-meta-"+escapeMetadataName(k)] = []string{escapeMetadataValue(v)}
	}
	if o.IfNotExist {
		h.Set("If-None-Match", "*")
	}
}

// NewTypedWriter implements driver.Bucket.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if _, err := b.blobURL("write", key, nil); err != nil {
		return nil, err
	}
	size := b.blockSize
	if opts.BufferSize > 0 {
		size = min(opts.BufferSize, maxBlockSize)
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(objhttp.NoAs); err != nil {
			return nil, err
		}
	}
	return &writer{ctx: ctx, b: b, key: key, put: putOptions{contentType: contentType, opts: opts}, blockSize: size}, nil
}

// writer implements driver.Writer.
type writer struct {
	ctx       context.Context
	b         *bucket
	key       string
	put       putOptions
	blockSize int
	buf       []byte
	blocks    []string // IDs of the blocks sent so far
	prefix    string   // random start of this writer's block IDs
	err       error    // a failed request: the object cannot be finished
	uploaded  bool     // Upload sent the object itself
}

// Upload implements driver.Uploader, which blob.Bucket.Upload uses: a
// *bytes.Reader (a caller holding the whole object) up to maxPutBlob is
// sent from its own memory in one Put Blob, with no copy into the
// writer's buffer; anything else goes through Write. The request's
// outcome is Close's result, which the portable type maps onto error
// codes (it passes Upload's own error on unmapped).
func (w *writer) Upload(r io.Reader) error {
	br, ok := r.(*bytes.Reader)
	if !ok || br.Len() > maxPutBlob {
		if _, err := io.Copy(struct{ io.Writer }{w}, r); err != nil && w.err == nil {
			w.err = err
		}
		return nil
	}
	w.uploaded = true
	w.err = w.b.putBody(w.ctx, w.key, br, br.Len(), w.put)
	return nil
}

// Write implements io.Writer, sending a block each time one fills.
func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		if len(w.buf) == w.blockSize {
			if w.err = w.b.putBlocks(w.ctx, w.key, w.buf, w.blockSize, &w.prefix, &w.blocks); w.err != nil {
				return n - len(p), w.err
			}
			w.buf = w.buf[:0]
		}
		if w.buf == nil {
			w.buf = make([]byte, 0, min(w.blockSize, max(len(p), 64<<10)))
		}
		take := min(len(p), w.blockSize-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
	}
	return n, nil
}

// Close implements io.Closer: it sends what is left and commits. If the
// context was canceled nothing is committed and the context's error is
// returned.
func (w *writer) Close() error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.err != nil || w.uploaded {
		return w.err
	}
	if len(w.blocks) == 0 {
		return w.b.putBlob(w.ctx, w.key, w.buf, w.put)
	}
	if len(w.buf) > 0 {
		if err := w.b.putBlocks(w.ctx, w.key, w.buf, w.blockSize, &w.prefix, &w.blocks); err != nil {
			return err
		}
	}
	return w.b.putBlockList(w.ctx, w.key, w.blocks, w.put)
}

// putBlob creates the object from data in one request.
func (b *bucket) putBlob(ctx context.Context, key string, data []byte, put putOptions) error {
	return b.putBody(ctx, key, bytes.NewReader(data), len(data), put)
}

// putBody is putBlob from a reader of size bytes; a *bytes.Reader lets the
// transport send it again on a reused connection that failed.
func (b *bucket) putBody(ctx context.Context, key string, body io.Reader, size int, put putOptions) error {
	u, err := b.blobURL("write", key, nil)
	if err != nil {
		return err
	}
	req, err := b.newRequest(ctx, http.MethodPut, u, "write", key, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(size)
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	put.headers(req.Header, false)
	return b.send(req, "write", key)
}

// putBlocks sends data as blocks of at most size bytes, appending their
// IDs to ids. IDs are the writer's random prefix and the block's number,
// all of one length as the service requires.
func (b *bucket) putBlocks(ctx context.Context, key string, data []byte, size int, prefix *string, ids *[]string) error {
	if *prefix == "" {
		var raw [12]byte
		_, _ = rand.Read(raw[:]) // never fails since Go 1.24
		*prefix = hex.EncodeToString(raw[:])
	}
	for len(data) > 0 {
		n := min(len(data), size)
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%06d", *prefix, len(*ids)))
		u, err := b.blobURL("write", key, url.Values{"comp": {"block"}, "blockid": {id}})
		if err != nil {
			return err
		}
		req, err := b.newRequest(ctx, http.MethodPut, u, "write", key, bytes.NewReader(data[:n]))
		if err != nil {
			return err
		}
		if err := b.send(req, "write", key); err != nil {
			return err
		}
		*ids = append(*ids, id)
		data = data[n:]
	}
	return nil
}

// putBlockList commits the blocks as the object's content.
func (b *bucket) putBlockList(ctx context.Context, key string, ids []string, put putOptions) error {
	var body strings.Builder
	body.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for _, id := range ids {
		body.WriteString("<Latest>" + id + "</Latest>")
	}
	body.WriteString("</BlockList>")
	u, err := b.blobURL("write", key, url.Values{"comp": {"blocklist"}})
	if err != nil {
		return err
	}
	req, err := b.newRequest(ctx, http.MethodPut, u, "write", key, strings.NewReader(body.String()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/xml")
	put.headers(req.Header, true)
	return b.send(req, "write", key)
}

// send performs a write request and discards the answer's body.
func (b *bucket) send(req *http.Request, op, key string) error {
	resp, err := b.do(req, op, key)
	if err != nil {
		return err
	}
	objhttp.DrainClose(resp.Body)
	return nil
}
