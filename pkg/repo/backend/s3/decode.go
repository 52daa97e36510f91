package s3

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/blob/driver"
)

// maxXMLBody bounds a listing page or any other XML answer (1000 entries
// of at most 1 KiB keys plus fields fit with room to spare).
const maxXMLBody = 16 << 20

// readXML reads an XML answer of at most maxXMLBody bytes into v.
func readXML(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, maxXMLBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxXMLBody {
		return fmt.Errorf("%w: answer larger than %d bytes", errMalformed, maxXMLBody)
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return fmt.Errorf("%w: %s", errMalformed, safetext.Line(err.Error(), 120))
	}
	return nil
}

// listXML is one page of ListObjectsV2.
type listXML struct {
	IsTruncated           bool   `xml:"IsTruncated"`
	NextContinuationToken string `xml:"NextContinuationToken"`
	EncodingType          string `xml:"EncodingType"`
	Contents              []struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         string `xml:"Size"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
}

// decodeList parses one ListObjectsV2 page into driver list objects (keys
// decoded and unescaped, objects and prefixes merged in key order) and the
// token of the next page ("" on the last).
func decodeList(r io.Reader) ([]*driver.ListObject, string, error) {
	var l listXML
	if err := readXML(r, &l); err != nil {
		return nil, "", err
	}
	urlEncoded := l.EncodingType == "url"
	key := func(raw string) (string, error) {
		if !urlEncoded {
			return unescapeKey(raw), nil
		}
		k, err := url.QueryUnescape(raw)
		if err != nil {
			return "", fmt.Errorf("%w: listed key %q is not URL-encoded", errMalformed, safetext.Line(raw, 80))
		}
		return unescapeKey(k), nil
	}
	objs := make([]*driver.ListObject, 0, len(l.Contents)+len(l.CommonPrefixes))
	for _, c := range l.Contents {
		k, err := key(c.Key)
		if err != nil {
			return nil, "", err
		}
		if k == "" {
			return nil, "", fmt.Errorf("%w: listed object without a key", errMalformed)
		}
		size, err := strconv.ParseInt(strings.TrimSpace(c.Size), 10, 64)
		if err != nil || size < 0 {
			return nil, "", fmt.Errorf("%w: object %q has size %q", errMalformed, safetext.Line(k, 80), safetext.Line(c.Size, 40))
		}
		o := &driver.ListObject{Key: k, Size: size, MD5: etagMD5(c.ETag)}
		if c.LastModified != "" {
			t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(c.LastModified))
			if err != nil {
				return nil, "", fmt.Errorf("%w: object %q has LastModified %q", errMalformed, safetext.Line(k, 80), safetext.Line(c.LastModified, 40))
			}
			o.ModTime = t
		}
		objs = append(objs, o)
	}
	for _, p := range l.CommonPrefixes {
		k, err := key(p.Prefix)
		if err != nil {
			return nil, "", err
		}
		if k == "" {
			return nil, "", fmt.Errorf("%w: empty listed prefix", errMalformed)
		}
		objs = append(objs, &driver.ListObject{Key: k, IsDir: true})
	}
	next := ""
	if l.IsTruncated {
		if l.NextContinuationToken == "" {
			return nil, "", fmt.Errorf("%w: truncated listing without a continuation token", errMalformed)
		}
		next = l.NextContinuationToken
	}
	return objs, next, nil
}

// decodeUploadID reads CreateMultipartUpload's answer.
func decodeUploadID(r io.Reader) (string, error) {
	var v struct {
		UploadID string `xml:"UploadId"`
	}
	if err := readXML(r, &v); err != nil {
		return "", err
	}
	if v.UploadID == "" || len(v.UploadID) > 1024 {
		return "", fmt.Errorf("%w: no usable upload ID in the answer", errMalformed)
	}
	return v.UploadID, nil
}
