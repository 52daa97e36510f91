package gcs

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGCS is a small in-memory Cloud Storage JSON API, enough to check the
// driver's requests and its reading of the answers. hook, if set, may
// answer a request itself (to inject errors) by returning true.
type fakeGCS struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	bucket string
	objs   map[string]*fakeObject
	gen    int64
	hook   func(w http.ResponseWriter, r *http.Request) bool
	// rewriteSteps makes a copy take that many calls (tokens) to finish.
	rewriteSteps int
	requests     []string
}

type fakeObject struct {
	data    []byte
	ctype   string
	meta    uploadMeta // multipart uploads: the metadata sent
	gen     int64
	updated time.Time
}

func newFakeGCS(t *testing.T, bucket string) *fakeGCS {
	f := &fakeGCS{t: t, bucket: bucket, objs: map[string]*fakeObject{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// open returns the driver for the fake's bucket.
func (f *fakeGCS) open(t *testing.T) *bucket {
	t.Helper()
	b, err := openBucket(t.Context(), f.bucket, Options{Client: f.srv.Client(), Endpoint: f.srv.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setHook installs (or with nil removes) the request hook.
func (f *fakeGCS) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeGCS) put(name string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.objs[name] = &fakeObject{data: data, ctype: "application/octet-stream", gen: f.gen, updated: time.Now().UTC()}
}

func (f *fakeGCS) get(name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[name]
	if !ok {
		return nil, false
	}
	return o.data, true
}

func jsonError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"reason":%q,"message":%q}]}}`, status, msg, reason, msg)
}

func (f *fakeGCS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	path := r.URL.EscapedPath()
	api := "/storage/v1/b/" + url.PathEscape(f.bucket) + "/o"
	upload := "/upload/storage/v1/b/" + url.PathEscape(f.bucket) + "/o"
	switch {
	case path == upload && r.Method == http.MethodPost:
		f.upload(w, r)
	case path == api && r.Method == http.MethodGet:
		f.list(w, r)
	case strings.HasPrefix(path, api+"/") && strings.Contains(path, "/rewriteTo/"):
		f.rewrite(w, r, strings.TrimPrefix(path, api+"/"))
	case strings.HasPrefix(path, api+"/"):
		name, err := url.PathUnescape(strings.TrimPrefix(path, api+"/"))
		if err != nil {
			jsonError(w, 400, "invalid", err.Error())
			return
		}
		f.object(w, r, name)
	case strings.HasPrefix(path, "/storage/v1/b/") || strings.HasPrefix(path, "/upload/storage/v1/b/"):
		jsonError(w, 404, "notFound", "The specified bucket does not exist.")
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGCS) resource(name string, o *fakeObject) map[string]any {
	sum := md5.Sum(o.data)
	return map[string]any{
		"name": name, "bucket": f.bucket, "size": strconv.Itoa(len(o.data)),
		"contentType": o.ctype, "md5Hash": base64.StdEncoding.EncodeToString(sum[:]),
		"etag": "CAE" + strconv.FormatInt(o.gen, 10), "generation": strconv.FormatInt(o.gen, 10),
		"updated": o.updated.Format(time.RFC3339Nano), "timeCreated": o.updated.Format(time.RFC3339Nano),
		"metadata": o.meta.Metadata, "cacheControl": o.meta.CacheControl,
		"contentDisposition": o.meta.ContentDisposition, "contentEncoding": o.meta.ContentEncoding,
		"contentLanguage": o.meta.ContentLanguage,
	}
}

func (f *fakeGCS) object(w http.ResponseWriter, r *http.Request, name string) {
	f.mu.Lock()
	o, ok := f.objs[name]
	if ok && r.Method == http.MethodDelete {
		delete(f.objs, name)
	}
	f.mu.Unlock()
	if !ok {
		jsonError(w, 404, "notFound", "No such object: "+f.bucket+"/"+name)
		return
	}
	switch {
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Query().Get("alt") == "media":
		f.media(w, r, o)
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(f.resource(name, o))
	}
}

// media serves a download the way the service does: 206 with
// Content-Range for a satisfiable range, 416 for one starting at the end.
func (f *fakeGCS) media(w http.ResponseWriter, r *http.Request, o *fakeObject) {
	h := w.Header()
	h.Set("Content-Type", o.ctype)
	h.Set("Last-Modified", o.updated.Format(http.TimeFormat))
	h.Set("X-Goog-Stored-Content-Length", strconv.Itoa(len(o.data)))
	rng := r.Header.Get("Range")
	if rng == "" {
		w.Write(o.data)
		return
	}
	spec := strings.TrimPrefix(rng, "bytes=")
	first, last, _ := strings.Cut(spec, "-")
	start, _ := strconv.Atoi(first)
	end := len(o.data) - 1
	if last != "" {
		end, _ = strconv.Atoi(last)
		end = min(end, len(o.data)-1)
	}
	if start >= len(o.data) {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(o.data)))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		fmt.Fprint(w, "<Error><Code>InvalidRange</Code></Error>")
		return
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(o.data)))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(o.data[start : end+1])
}

func (f *fakeGCS) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := &fakeObject{}
	var name string
	switch q.Get("uploadType") {
	case "media":
		name = q.Get("name")
		o.ctype = r.Header.Get("Content-Type")
		o.data, _ = io.ReadAll(r.Body)
	case "multipart":
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			jsonError(w, 400, "invalid", err.Error())
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		if err != nil {
			jsonError(w, 400, "invalid", err.Error())
			return
		}
		var meta uploadMeta
		if err := json.NewDecoder(p).Decode(&meta); err != nil {
			jsonError(w, 400, "invalid", err.Error())
			return
		}
		p, err = mr.NextPart()
		if err != nil {
			jsonError(w, 400, "invalid", err.Error())
			return
		}
		name, o.ctype, o.meta = meta.Name, meta.ContentType, meta
		o.data, _ = io.ReadAll(p)
		if meta.MD5Hash != "" {
			sum := md5.Sum(o.data)
			if meta.MD5Hash != base64.StdEncoding.EncodeToString(sum[:]) {
				jsonError(w, 400, "invalid", "Provided MD5 hash does not match")
				return
			}
		}
	default:
		jsonError(w, 400, "invalid", "unsupported uploadType "+q.Get("uploadType"))
		return
	}
	if r.Context().Err() != nil {
		return // the client gave up: the object must not appear
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if q.Get("ifGenerationMatch") == "0" && f.objs[name] != nil {
		jsonError(w, 412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.")
		return
	}
	f.gen++
	o.gen, o.updated = f.gen, time.Now().UTC()
	f.objs[name] = o
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(f.resource(name, o))
}

func (f *fakeGCS) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	max, _ := strconv.Atoi(q.Get("maxResults"))
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for n := range f.objs {
		names = append(names, n)
	}
	sort.Strings(names)
	var items []map[string]any
	var prefixes []string
	tok, next, last := q.Get("pageToken"), "", ""
	count := 0
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || (tok != "" && n <= tok) {
			continue
		}
		entry, dir := n, false
		if i := strings.Index(n[len(prefix):], delim); delim != "" && i >= 0 {
			entry, dir = n[:len(prefix)+i+len(delim)], true
			if len(prefixes) > 0 && prefixes[len(prefixes)-1] == entry {
				continue
			}
		}
		if count == max {
			next = last
			break
		}
		if dir {
			prefixes = append(prefixes, entry)
			last = entry + "\U0010FFFF" // skips the whole directory
		} else {
			items = append(items, f.resource(n, f.objs[n]))
			last = n
		}
		count++
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"items": items, "prefixes": prefixes, "nextPageToken": next})
}

func (f *fakeGCS) rewrite(w http.ResponseWriter, r *http.Request, rest string) {
	srcEsc, dstPart, _ := strings.Cut(rest, "/rewriteTo/b/")
	_, dstEsc, _ := strings.Cut(dstPart, "/o/")
	src, _ := url.PathUnescape(srcEsc)
	dst, _ := url.PathUnescape(dstEsc)
	step, _ := strconv.Atoi(r.URL.Query().Get("rewriteToken"))
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objs[src]
	if !ok {
		jsonError(w, 404, "notFound", "No such object: "+f.bucket+"/"+src)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if step+1 < f.rewriteSteps {
		json.NewEncoder(w).Encode(map[string]any{"done": false, "rewriteToken": strconv.Itoa(step + 1)})
		return
	}
	f.gen++
	c := *o
	c.data = bytes.Clone(o.data)
	c.gen = f.gen
	f.objs[dst] = &c
	json.NewEncoder(w).Encode(map[string]any{"done": true, "resource": f.resource(dst, &c)})
}
