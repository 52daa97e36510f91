package azblob

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/blob/driver"
)

// maxListBody bounds a listing page (5000 entries of at most ~1 KiB names
// plus properties fit with room to spare).
const maxListBody = 32 << 20

// attributesFromHeader reads Get Blob Properties' answer.
func attributesFromHeader(h http.Header) (*driver.Attributes, error) {
	size, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("%w: Content-Length %q", errMalformed, safetext.Line(h.Get("Content-Length"), 40))
	}
	md5, err := decodeMD5(h.Get("Content-MD5"))
	if err != nil {
		return nil, err
	}
	mod, err := parseHTTPTime("Last-Modified", h.Get("Last-Modified"))
	if err != nil {
		return nil, err
	}
	created, err := parseHTTPTime("x-ms-creation-time", h.Get("x-ms-creation-time"))
	if err != nil {
		return nil, err
	}
	var md map[string]string
	for name, vs := range h {
		lname := strings.ToLower(name)
		if rest, ok := strings.CutPrefix(lname, "x-ms-meta-"); ok && len(vs) > 0 {
			if md == nil {
				md = make(map[string]string)
			}
			md[unescapeKey(rest)] = unescapeMetadataValue(vs[0])
		}
	}
	return &driver.Attributes{
		CacheControl:       h.Get("Cache-Control"),
		ContentDisposition: h.Get("Content-Disposition"),
		ContentEncoding:    h.Get("Content-Encoding"),
		ContentLanguage:    h.Get("Content-Language"),
		ContentType:        contentType(h.Get("Content-Type")),
		Metadata:           md,
		CreateTime:         created,
		ModTime:            mod,
		Size:               size,
		MD5:                md5,
		ETag:               h.Get("ETag"),
	}, nil
}

// contentType is ct, or the generic type when the blob has none.
func contentType(ct string) string {
	if ct == "" {
		return "application/octet-stream"
	}
	return ct
}

// decodeMD5 decodes a base64 Content-MD5; an absent one is nil.
func decodeMD5(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	sum, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(sum) != 16 {
		return nil, fmt.Errorf("%w: Content-MD5 %q", errMalformed, safetext.Line(s, 40))
	}
	return sum, nil
}

// parseHTTPTime parses an RFC 1123 time; an absent one is the zero time.
func parseHTTPTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := http.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not an HTTP date", errMalformed, field, safetext.Line(s, 40))
	}
	return t, nil
}

// blobName is a listed name; Encoded="true" marks a percent-encoded name
// (names holding characters XML cannot carry).
type blobName struct {
	Encoded bool   `xml:"Encoded,attr"`
	Text    string `xml:",chardata"`
}

// listXML is one page of List Blobs.
type listXML struct {
	Blobs struct {
		Blob []struct {
			Name       blobName `xml:"Name"`
			Properties struct {
				LastModified  string `xml:"Last-Modified"`
				ContentLength string `xml:"Content-Length"`
				ContentMD5    string `xml:"Content-MD5"`
			} `xml:"Properties"`
		} `xml:"Blob"`
		BlobPrefix []struct {
			Name blobName `xml:"Name"`
		} `xml:"BlobPrefix"`
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

// name decodes a listed name and unescapes it into a key.
func (n blobName) key() (string, error) {
	s := n.Text
	if n.Encoded {
		var err error
		if s, err = url.PathUnescape(s); err != nil {
			return "", fmt.Errorf("%w: badly encoded name %q", errMalformed, safetext.Line(n.Text, 80))
		}
	}
	if s == "" {
		return "", fmt.Errorf("%w: listed entry without a name", errMalformed)
	}
	return unescapeKey(s), nil
}

// decodeList parses one List Blobs page into driver list objects, sorted
// by key, and the marker of the next page.
func decodeList(r io.Reader) ([]*driver.ListObject, string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListBody+1))
	if err != nil {
		return nil, "", err
	}
	if len(data) > maxListBody {
		return nil, "", fmt.Errorf("%w: listing page larger than %d bytes", errMalformed, maxListBody)
	}
	var l listXML
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&l); err != nil {
		return nil, "", fmt.Errorf("%w: listing: %v", errMalformed, err)
	}
	objs := make([]*driver.ListObject, 0, len(l.Blobs.Blob)+len(l.Blobs.BlobPrefix))
	for i := range l.Blobs.Blob {
		it := &l.Blobs.Blob[i]
		key, err := it.Name.key()
		if err != nil {
			return nil, "", err
		}
		size, err := strconv.ParseInt(it.Properties.ContentLength, 10, 64)
		if err != nil || size < 0 {
			return nil, "", fmt.Errorf("%w: blob %q has Content-Length %q", errMalformed, safetext.Line(key, 80), safetext.Line(it.Properties.ContentLength, 40))
		}
		md5, err := decodeMD5(it.Properties.ContentMD5)
		if err != nil {
			return nil, "", err
		}
		mod, err := parseHTTPTime("Last-Modified", it.Properties.LastModified)
		if err != nil {
			return nil, "", err
		}
		objs = append(objs, &driver.ListObject{Key: key, ModTime: mod, Size: size, MD5: md5})
	}
	for _, p := range l.Blobs.BlobPrefix {
		key, err := p.Name.key()
		if err != nil {
			return nil, "", err
		}
		objs = append(objs, &driver.ListObject{Key: key, IsDir: true})
	}
	// Blobs and prefixes come in two groups; the driver contract wants one order.
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, l.NextMarker, nil
}
