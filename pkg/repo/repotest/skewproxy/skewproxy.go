// Package skewproxy puts an HTTP proxy between a test's S3 client and a
// real object store (MinIO) that makes the store's clock look Offset away
// from the machine's: every modification time the store reports (the
// Last-Modified header of HEAD and GET, <LastModified> in listings) is
// shifted by it. Requests pass through untouched, so signatures still
// verify. Tests use it to prove that prune judges every age by the store's
// clock alone, however far the machine running it is off.
package skewproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var lastModified = regexp.MustCompile(`<LastModified>([^<]+)</LastModified>`)

// Start proxies to the S3 endpoint at target (host:port) with the store's
// clock shifted by offset, and returns the host:port clients use instead.
// The proxy stops with the test.
func Start(t testing.TB, target string, offset time.Duration) string {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.ModifyResponse = func(resp *http.Response) error { return shift(resp, offset) }
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// shift moves the times in one response by offset.
func shift(resp *http.Response, offset time.Duration) error {
	if v := resp.Header.Get("Last-Modified"); v != "" {
		if tm, err := http.ParseTime(v); err == nil {
			resp.Header.Set("Last-Modified", tm.Add(offset).UTC().Format(http.TimeFormat))
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = lastModified.ReplaceAllFunc(body, func(m []byte) []byte {
		v := lastModified.FindSubmatch(m)[1]
		tm, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return m
		}
		return []byte("<LastModified>" + tm.Add(offset).UTC().Format("2006-01-02T15:04:05.000Z") + "</LastModified>")
	})
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}
