package azblob

import (
	"crypto/md5"
	"encoding/base64"
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
)

// fakeBlob is a small in-memory Blob service for the unit tests: Put Blob,
// Put Block, Put Block List, Get Blob with x-ms-range, properties, delete
// and List Blobs with prefix, delimiter, maxresults and markers. It
// records every request, and fail lets a test answer one with an error.
type fakeBlob struct {
	t       *testing.T
	srv     *httptest.Server
	account string

	mu        sync.Mutex
	objects   map[string]fakeObject
	blocks    map[string]map[string][]byte // uncommitted blocks per blob
	requests  []*http.Request
	fail      func(r *http.Request) (status int, code string)
	auth      func(r *http.Request) bool // nil: any Shared Key of the account
	container string
}

// fakeObject is one stored blob.
type fakeObject struct {
	data     []byte
	ctype    string
	md5      []byte
	modified time.Time
}

// newFakeBlob starts the fake for one account and container.
func newFakeBlob(t *testing.T) *fakeBlob {
	f := &fakeBlob{t: t, account: "acct", container: "box", objects: map[string]fakeObject{}, blocks: map[string]map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// bucket opens the driver on the fake with a fixed key and small blocks.
func (f *fakeBlob) bucket(t *testing.T) *bucket {
	t.Helper()
	b, err := openWithOptions(f.container, &Options{ServiceURL: f.srv.URL + "/" + f.account, Account: f.account,
		Key: base64.StdEncoding.EncodeToString([]byte("fake-key")), Client: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	b.blockSize = 8
	return b
}

// put stores a blob directly.
func (f *fakeBlob) put(name string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := md5.Sum(data)
	f.objects[name] = fakeObject{data: data, ctype: "text/plain", md5: sum[:], modified: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// seen returns the requests so far.
func (f *fakeBlob) seen() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

// fault answers with the service's error document.
func fault(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>fake %s
RequestId:1</Message></Error>`, code, code)
}

func (f *fakeBlob) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	authorized := strings.HasPrefix(r.Header.Get("Authorization"), "SharedKey acct:")
	if f.auth != nil {
		authorized = f.auth(r)
	}
	if r.Header.Get("x-ms-version") != APIVersion || !authorized {
		fault(w, 403, "AuthenticationFailed")
		return
	}
	if f.fail != nil {
		if st, code := f.fail(r); st != 0 {
			fault(w, st, code)
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/"+f.account+"/")
	container, name, _ := strings.Cut(path, "/")
	if container != f.container {
		fault(w, 404, "ContainerNotFound")
		return
	}
	q := r.URL.Query()
	switch {
	case name == "" && q.Get("comp") == "list":
		f.list(w, q.Get("prefix"), q.Get("delimiter"), q.Get("marker"), q.Get("maxresults"))
	case r.Method == http.MethodPut && q.Get("comp") == "block":
		if f.blocks[name] == nil {
			f.blocks[name] = map[string][]byte{}
		}
		f.blocks[name][q.Get("blockid")] = body
		w.WriteHeader(201)
	case r.Method == http.MethodPut && r.Header.Get("x-ms-copy-source") != "":
		src, err := url.Parse(r.Header.Get("x-ms-copy-source"))
		o, ok := f.objects[strings.TrimPrefix(src.Path, "/"+f.account+"/"+f.container+"/")]
		if err != nil || !ok {
			fault(w, 404, "CannotVerifyCopySource")
			return
		}
		f.objects[name] = o
		w.Header().Set("x-ms-copy-status", "success")
		w.WriteHeader(202)
	case r.Method == http.MethodPut:
		if _, ok := f.objects[name]; ok && r.Header.Get("If-None-Match") == "*" {
			fault(w, 409, "BlobAlreadyExists")
			return
		}
		data := body
		if q.Get("comp") == "blocklist" {
			var l struct {
				Latest []string `xml:"Latest"`
			}
			if err := xml.Unmarshal(body, &l); err != nil {
				fault(w, 400, "InvalidXmlDocument")
				return
			}
			data = nil
			for _, id := range l.Latest {
				blk, ok := f.blocks[name][id]
				if !ok {
					fault(w, 400, "InvalidBlockList")
					return
				}
				data = append(data, blk...)
			}
			delete(f.blocks, name)
		}
		sum := md5.Sum(data)
		f.objects[name] = fakeObject{data: data, ctype: r.Header.Get("x-ms-blob-content-type"), md5: sum[:], modified: time.Now()}
		w.WriteHeader(201)
	case r.Method == http.MethodDelete:
		if _, ok := f.objects[name]; !ok {
			fault(w, 404, "BlobNotFound")
			return
		}
		delete(f.objects, name)
		w.WriteHeader(202)
	default:
		f.get(w, r, name)
	}
}

// get serves Get Blob and Get Blob Properties.
func (f *fakeBlob) get(w http.ResponseWriter, r *http.Request, name string) {
	o, ok := f.objects[name]
	if !ok {
		fault(w, 404, "BlobNotFound")
		return
	}
	h := w.Header()
	h.Set("Content-Type", o.ctype)
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(o.md5))
	h.Set("Last-Modified", o.modified.Format(http.TimeFormat))
	h.Set("ETag", `"0x1"`)
	data := o.data
	status := 200
	if rng := r.Header.Get("x-ms-range"); rng != "" && r.Method == http.MethodGet {
		var start, end int64
		spec := strings.TrimPrefix(rng, "bytes=")
		first, last, _ := strings.Cut(spec, "-")
		start, _ = strconv.ParseInt(first, 10, 64)
		end = int64(len(data)) - 1
		if last != "" {
			end, _ = strconv.ParseInt(last, 10, 64)
		}
		if start >= int64(len(data)) {
			fault(w, 416, "InvalidRange")
			return
		}
		end = min(end, int64(len(data))-1)
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(data)))
		data = data[start : end+1]
		status = 206
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		w.Write(data)
	}
}

// list serves List Blobs; the marker is the first name of the next page.
func (f *fakeBlob) list(w http.ResponseWriter, prefix, delim, marker, maxResults string) {
	max, _ := strconv.Atoi(maxResults)
	names := make([]string, 0, len(f.objects))
	for n := range f.objects {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>`)
	count, lastDir, next := 0, "", ""
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || n < marker {
			continue
		}
		if count == max {
			next = n
			break
		}
		if i := strings.Index(n[len(prefix):], delim); delim != "" && i >= 0 {
			dir := n[:len(prefix)+i+len(delim)]
			if dir != lastDir {
				fmt.Fprintf(&sb, "<BlobPrefix><Name>%s</Name></BlobPrefix>", dir)
				lastDir = dir
				count++
			}
			continue
		}
		o := f.objects[n]
		fmt.Fprintf(&sb, "<Blob><Name>%s</Name><Properties><Last-Modified>%s</Last-Modified><Content-Length>%d</Content-Length><Content-MD5>%s</Content-MD5></Properties></Blob>",
			n, o.modified.Format(http.TimeFormat), len(o.data), base64.StdEncoding.EncodeToString(o.md5))
		count++
	}
	sb.WriteString("</Blobs><NextMarker>" + next + "</NextMarker></EnumerationResults>")
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, sb.String())
}
