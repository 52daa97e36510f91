package gcs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"gocloud.dev/blob/driver"
)

// A write is one upload request. Up to smallWrite bytes are held back, so
// a small object goes up in Close with a known length and no request is
// left open between Write calls; past that the body streams from the Write
// calls through a pipe, so a 16 MiB pack costs no extra memory. The object
// exists only once the request completes in Close. Objects with only a
// content type go up as uploadType=media; any other metadata (cache control,
// user metadata, an MD5 to verify) needs uploadType=multipart. A failed
// upload is not resumed: the backend retries a whole Put, and its stream
// writers are only used where the caller can redo the object.

// smallWrite is how much a writer holds back before it starts streaming.
const smallWrite = 256 << 10

// NewTypedWriter implements driver.Bucket.
func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if key == "" {
		return nil, fmt.Errorf("gcs: write: empty key: %w", errInvalid)
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(objhttp.NoAs); err != nil {
			return nil, err
		}
	}
	req, err := b.uploadRequest(key, contentType, opts)
	if err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, b: b, key: key, req: req}, nil
}

// uploadMeta is the object resource sent ahead of a multipart upload.
type uploadMeta struct {
	Name               string            `json:"name"`
	ContentType        string            `json:"contentType,omitempty"`
	CacheControl       string            `json:"cacheControl,omitempty"`
	ContentDisposition string            `json:"contentDisposition,omitempty"`
	ContentEncoding    string            `json:"contentEncoding,omitempty"`
	ContentLanguage    string            `json:"contentLanguage,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	MD5Hash            string            `json:"md5Hash,omitempty"`
}

// uploadRequest prepares the request (without its body) for key.
func (b *bucket) uploadRequest(key, contentType string, opts *driver.WriterOptions) (*pendingUpload, error) {
	name := escapeKey(key)
	q := url.Values{}
	if opts.IfNotExist {
		// Generation 0 matches only an absent object: a write-once create.
		q.Set("ifGenerationMatch", "0")
	}
	meta := uploadMeta{
		Name: name, ContentType: contentType, CacheControl: opts.CacheControl,
		ContentDisposition: opts.ContentDisposition, ContentEncoding: opts.ContentEncoding,
		ContentLanguage: opts.ContentLanguage, Metadata: opts.Metadata,
	}
	if len(opts.ContentMD5) > 0 {
		meta.MD5Hash = base64.StdEncoding.EncodeToString(opts.ContentMD5)
	}
	media := opts.CacheControl == "" && opts.ContentDisposition == "" && opts.ContentEncoding == "" &&
		opts.ContentLanguage == "" && len(opts.Metadata) == 0 && len(opts.ContentMD5) == 0
	p := &pendingUpload{}
	if media {
		q.Set("uploadType", "media")
		q.Set("name", name)
		p.contentType = contentType
	} else {
		q.Set("uploadType", "multipart")
		js, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("gcs: write %s: %w", svc.Target(b.name, key), err)
		}
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		boundary := "cairn-" + hex.EncodeToString(raw[:])
		p.contentType = "multipart/related; boundary=" + boundary
		p.head = "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + string(js) +
			"\r\n--" + boundary + "\r\nContent-Type: " + contentType + "\r\n\r\n"
		p.tail = "\r\n--" + boundary + "--\r\n"
	}
	p.url = b.upload + "?" + q.Encode()
	return p, nil
}

// pendingUpload is an upload request not sent yet.
type pendingUpload struct {
	url         string
	contentType string
	head, tail  string // multipart framing around the data; empty for media
}

// writer implements driver.Writer.
type writer struct {
	ctx context.Context
	b   *bucket
	key string
	req *pendingUpload
	buf []byte // held back until smallWrite is exceeded or Close

	direct *bytes.Reader // the whole object, handed to Upload

	pw   *io.PipeWriter // set once streaming
	done chan struct{}  // closed when the request has finished
	err  error          // the request's outcome, valid once done is closed
}

// start sends the request in the background. Its body is the size bytes
// of data followed, when stream is set, by whatever is written to the pipe.
func (w *writer) start(data io.Reader, size int64, stream bool) {
	w.done = make(chan struct{})
	body := data
	length := int64(len(w.req.head)) + size + int64(len(w.req.tail))
	var pr *io.PipeReader
	if stream {
		pr, w.pw = io.Pipe()
		body = io.MultiReader(body, pr)
		length = -1
	}
	if w.req.head != "" {
		body = io.MultiReader(strings.NewReader(w.req.head), body, strings.NewReader(w.req.tail))
	}
	go func() {
		defer close(w.done)
		if pr == nil {
			w.err = w.send(io.NopCloser(body), length)
			return
		}
		// The transport closes the body when it gives up on the request;
		// that must close the pipe, or a Write would wait forever.
		w.err = w.send(struct {
			io.Reader
			io.Closer
		}{body, pr}, length)
		// Unblock any Write still waiting for the request to read.
		pr.CloseWithError(errUploadEnded)
	}()
}

// errUploadEnded is what a Write sees after the request stopped reading.
var errUploadEnded = errors.New("upload request ended")

// send performs the upload request; length < 0 means unknown.
func (w *writer) send(body io.ReadCloser, length int64) error {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.req.url, body)
	if err != nil {
		body.Close()
		return fmt.Errorf("gcs: write %s: %w", svc.Target(w.b.name, w.key), err)
	}
	req.ContentLength = length
	if length == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", w.req.contentType)
	resp, err := w.b.do(req, "write", w.key)
	if err != nil {
		return err
	}
	objhttp.DrainClose(resp.Body)
	return nil
}

// Upload implements driver.Uploader, which blob.Bucket.Upload uses: a
// *bytes.Reader (a caller holding the whole object) becomes the body of
// the one upload request Close sends, read from the caller's memory with
// a known length and no copy into the writer's buffer. Anything else goes
// through Write. The request's outcome is Close's result, which gocloud
// maps onto error codes.
func (w *writer) Upload(r io.Reader) error {
	if br, ok := r.(*bytes.Reader); ok && w.pw == nil && len(w.buf) == 0 && w.direct == nil {
		w.direct = br
		return nil
	}
	_, err := io.Copy(struct{ io.Writer }{w}, r)
	return err
}

// Write implements io.Writer; once streaming it returns when the request
// has taken p.
func (w *writer) Write(p []byte) (int, error) {
	if w.pw == nil {
		if len(w.buf)+len(p) <= smallWrite {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.start(bytes.NewReader(w.buf), int64(len(w.buf)), true)
		w.buf = nil
	}
	n, err := w.pw.Write(p)
	if err != nil {
		// The request ended early: report why.
		<-w.done
		if w.err != nil {
			return n, w.err
		}
		if cerr := w.ctx.Err(); cerr != nil {
			return n, cerr
		}
		return n, fmt.Errorf("gcs: write %s: the service finished the upload before all data was sent", svc.Target(w.b.name, w.key))
	}
	return n, nil
}

// Close implements io.Closer: it sends or ends the body and waits for the
// answer. If the context was canceled nothing more is sent (a streamed
// body is cut off, so the service never sees a complete object) and the
// context's error is returned.
func (w *writer) Close() error {
	if err := w.ctx.Err(); err != nil {
		if w.pw != nil {
			w.pw.CloseWithError(err)
			<-w.done
		}
		return err
	}
	switch {
	case w.direct != nil:
		w.start(w.direct, int64(w.direct.Len()), false)
	case w.pw == nil:
		w.start(bytes.NewReader(w.buf), int64(len(w.buf)), false)
	default:
		w.pw.Close()
	}
	<-w.done
	return w.err
}
