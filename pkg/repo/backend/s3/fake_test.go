package s3

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/awscred"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3/sigv4"
)

// fakeS3 is a small in-memory S3 (path-style), enough to check the
// driver's requests and its reading of the answers. It checks that every
// request is signed for the test credentials and that the payload hash
// matches the body. hook, if set, may answer a request itself (to inject
// errors) by returning true.
type fakeS3 struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	bucket   string
	objs     map[string]*fakeObject
	uploads  map[string]map[int][]byte
	hook     func(w http.ResponseWriter, r *http.Request) bool
	requests []string // "METHOD path?query"
	aborted  []string // upload IDs
	// truncateFull makes a full listing page report IsTruncated even when
	// nothing follows, as MinIO does.
	truncateFull bool
}

type fakeObject struct {
	data    []byte
	header  http.Header
	updated time.Time
}

var testCreds = sigv4.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "test-secret-key"}

func newFakeS3(t *testing.T, bucket string) *fakeS3 {
	f := &fakeS3{t: t, bucket: bucket, objs: map[string]*fakeObject{}, uploads: map[string]map[int][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// options are the driver options for the fake.
func (f *fakeS3) options() Options {
	return Options{Region: "us-east-1", Endpoint: f.srv.URL, UsePathStyle: true, Client: f.srv.Client(),
		Credentials: awscred.Static{Creds: testCreds}, PartSize: minPartSize}
}

// open returns the driver for the fake's bucket.
func (f *fakeS3) open(t *testing.T) *bucket {
	t.Helper()
	b, err := openBucket(t.Context(), f.bucket, f.options())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fakeS3) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeS3) put(key string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objs[key] = &fakeObject{data: data, header: http.Header{"Content-Type": {"application/octet-stream"}}, updated: time.Now().UTC()}
}

func (f *fakeS3) get(key string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[key]
	if !ok {
		return nil, false
	}
	return o.data, true
}

func (f *fakeS3) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
}

func (f *fakeS3) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	hook := f.hook
	f.mu.Unlock()
	if msg := checkSigned(r, body); msg != "" {
		s3Error(w, 403, "SignatureDoesNotMatch", msg)
		return
	}
	if hook != nil && hook(w, r) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	if bucket != f.bucket {
		s3Error(w, 404, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	q := r.URL.Query()
	switch {
	case key == "" && r.Method == http.MethodGet:
		f.list(w, q)
	case r.Method == http.MethodPost && q.Has("uploads"):
		f.createUpload(w, key, r.Header)
	case r.Method == http.MethodPut && q.Get("uploadId") != "":
		f.uploadPart(w, q, body)
	case r.Method == http.MethodPost && q.Get("uploadId") != "":
		f.complete(w, r, key, q.Get("uploadId"), body)
	case r.Method == http.MethodDelete && q.Get("uploadId") != "":
		f.mu.Lock()
		delete(f.uploads, q.Get("uploadId"))
		f.aborted = append(f.aborted, q.Get("uploadId"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		f.copy(w, r, key)
	case r.Method == http.MethodPut:
		f.putObject(w, r, key, body)
	default:
		f.object(w, r, key)
	}
}

// checkSigned returns what is wrong with the request's signature, if
// anything: the credential and region, and the payload hash against the body.
func checkSigned(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+testCreds.AccessKeyID+"/") || !strings.Contains(auth, "/us-east-1/s3/aws4_request") {
		return "bad Authorization " + auth
	}
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
		return "payload hash " + got + " does not match the body"
	}
	return ""
}

func (f *fakeS3) putObject(w http.ResponseWriter, r *http.Request, key string, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, exists := f.objs[key]; exists && r.Header.Get("If-None-Match") == "*" {
		s3Error(w, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	h := http.Header{}
	for k, v := range r.Header {
		if k == "Content-Type" || strings.HasPrefix(k, "X-Amz-Meta-") || strings.HasPrefix(k, "Cache-") || strings.HasPrefix(k, "Content-Dis") ||
			strings.HasPrefix(k, "Content-Enc") || strings.HasPrefix(k, "Content-Lang") || strings.HasPrefix(k, "X-Amz-Server-Side") {
			h[k] = v
		}
	}
	sum := md5.Sum(body)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	f.objs[key] = &fakeObject{data: body, header: h, updated: time.Now().UTC()}
	w.Header().Set("ETag", h.Get("ETag"))
}

func (f *fakeS3) object(w http.ResponseWriter, r *http.Request, key string) {
	f.mu.Lock()
	o, ok := f.objs[key]
	if ok && r.Method == http.MethodDelete {
		delete(f.objs, key)
	}
	f.mu.Unlock()
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent) // S3 does not say whether it existed
		return
	}
	if !ok {
		if r.Method == http.MethodHead {
			w.WriteHeader(404)
			return
		}
		s3Error(w, 404, "NoSuchKey", "The specified key does not exist.")
		return
	}
	for k, v := range o.header {
		w.Header()[k] = v
	}
	w.Header().Set("Last-Modified", o.updated.Format(http.TimeFormat))
	size := int64(len(o.data))
	rng := r.Header.Get("Range")
	if rng == "" || r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		if r.Method == http.MethodGet {
			w.Write(o.data)
		}
		return
	}
	spec := strings.TrimPrefix(rng, "bytes=")
	a, b, _ := strings.Cut(spec, "-")
	start, _ := strconv.ParseInt(a, 10, 64)
	end := size - 1
	if b != "" {
		end, _ = strconv.ParseInt(b, 10, 64)
	}
	if start >= size {
		s3Error(w, 416, "InvalidRange", "The requested range is not satisfiable")
		return
	}
	end = min(end, size-1)
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	w.Header().Set("Content-Length", strconv.FormatInt(end-start+1, 10))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(o.data[start : end+1])
}

func (f *fakeS3) list(w http.ResponseWriter, q url.Values) {
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	max, _ := strconv.Atoi(q.Get("max-keys"))
	after := q.Get("continuation-token")
	f.mu.Lock()
	keys := make([]string, 0, len(f.objs))
	for k := range f.objs {
		keys = append(keys, k)
	}
	f.mu.Unlock()
	sort.Strings(keys)
	type entry struct {
		key string
		dir bool
	}
	var entries []entry
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				d := k[:len(prefix)+i+len(delim)]
				if !seen[d] {
					seen[d] = true
					entries = append(entries, entry{d, true})
				}
				continue
			}
		}
		entries = append(entries, entry{k, false})
	}
	start := 0
	for start < len(entries) && after != "" && entries[start].key <= after {
		start++
	}
	entries = entries[start:]
	truncated := len(entries) > max
	if truncated {
		entries = entries[:max]
	}
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>`)
	enc := q.Get("encoding-type") == "url"
	esc := func(s string) string {
		if enc {
			s = url.QueryEscape(s)
		}
		var b strings.Builder
		xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	for _, e := range entries {
		if e.dir {
			fmt.Fprintf(&sb, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>", esc(e.key))
			continue
		}
		f.mu.Lock()
		o := f.objs[e.key]
		fmt.Fprintf(&sb, "<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>%s</ETag><Size>%d</Size></Contents>",
			esc(e.key), o.updated.Format("2006-01-02T15:04:05.000Z"), esc(o.header.Get("ETag")), len(o.data))
		f.mu.Unlock()
	}
	if (truncated || (f.truncateFull && len(entries) == max)) && len(entries) > 0 {
		var tok strings.Builder
		xml.EscapeText(&tok, []byte(entries[len(entries)-1].key))
		fmt.Fprintf(&sb, "<IsTruncated>true</IsTruncated><NextContinuationToken>%s</NextContinuationToken>", tok.String())
	} else {
		sb.WriteString("<IsTruncated>false</IsTruncated>")
	}
	if enc {
		sb.WriteString("<EncodingType>url</EncodingType>")
	}
	sb.WriteString("</ListBucketResult>")
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, sb.String())
}

func (f *fakeS3) createUpload(w http.ResponseWriter, key string, h http.Header) {
	f.mu.Lock()
	id := fmt.Sprintf("upload-%d", len(f.uploads)+len(f.aborted)+1)
	f.uploads[id] = map[int][]byte{}
	f.mu.Unlock()
	fmt.Fprintf(w, `<InitiateMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>`, f.bucket, key, id)
}

func (f *fakeS3) uploadPart(w http.ResponseWriter, q url.Values, body []byte) {
	n, _ := strconv.Atoi(q.Get("partNumber"))
	f.mu.Lock()
	defer f.mu.Unlock()
	parts, ok := f.uploads[q.Get("uploadId")]
	if !ok {
		s3Error(w, 404, "NoSuchUpload", "The specified upload does not exist.")
		return
	}
	parts[n] = body
	sum := md5.Sum(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
}

func (f *fakeS3) complete(w http.ResponseWriter, r *http.Request, key, id string, body []byte) {
	var c completeXML
	if err := xml.Unmarshal(body, &c); err != nil {
		s3Error(w, 400, "MalformedXML", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts, ok := f.uploads[id]
	if !ok {
		s3Error(w, 404, "NoSuchUpload", "The specified upload does not exist.")
		return
	}
	if _, exists := f.objs[key]; exists && r.Header.Get("If-None-Match") == "*" {
		s3Error(w, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	var data []byte
	for i, p := range c.Parts {
		sum := md5.Sum(parts[p.PartNumber])
		if p.PartNumber != i+1 || p.ETag != `"`+hex.EncodeToString(sum[:])+`"` {
			s3Error(w, 400, "InvalidPart", "bad part")
			return
		}
		data = append(data, parts[p.PartNumber]...)
	}
	delete(f.uploads, id)
	f.objs[key] = &fakeObject{data: data, header: http.Header{"Content-Type": {"application/octet-stream"}, "Etag": {`"abc-` + strconv.Itoa(len(c.Parts)) + `"`}}, updated: time.Now().UTC()}
	fmt.Fprintf(w, `<CompleteMultipartUploadResult><Key>%s</Key></CompleteMultipartUploadResult>`, key)
}

func (f *fakeS3) copy(w http.ResponseWriter, r *http.Request, key string) {
	src, _ := url.PathUnescape(r.Header.Get("X-Amz-Copy-Source"))
	_, srcKey, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[srcKey]
	if !ok {
		s3Error(w, 404, "NoSuchKey", "The specified key does not exist.")
		return
	}
	cp := *o
	f.objs[key] = &cp
	fmt.Fprint(w, `<CopyObjectResult><ETag>"x"</ETag></CopyObjectResult>`)
}
