package gcs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/blob/driver"
)

// errMalformed marks a server answer this driver cannot understand. It maps
// to gcerrors.Internal: a proxy or a broken emulator may answer correctly on
// the next try.
var errMalformed = errors.New("malformed answer from Cloud Storage")

// maxJSONBody bounds an object resource or a listing page (1000 entries of
// at most ~1 KiB names plus fields fit with room to spare).
const maxJSONBody = 16 << 20

// objectJSON is the part of the JSON API's object resource the driver uses.
type objectJSON struct {
	Name               string            `json:"name"`
	ContentType        string            `json:"contentType"`
	ContentEncoding    string            `json:"contentEncoding"`
	ContentDisposition string            `json:"contentDisposition"`
	ContentLanguage    string            `json:"contentLanguage"`
	CacheControl       string            `json:"cacheControl"`
	Size               json.RawMessage   `json:"size"` // uint64 as a decimal string
	MD5Hash            string            `json:"md5Hash"`
	Etag               string            `json:"etag"`
	Updated            string            `json:"updated"`
	TimeCreated        string            `json:"timeCreated"`
	Metadata           map[string]string `json:"metadata"`
}

// listJSON is one page of the objects.list answer.
type listJSON struct {
	NextPageToken string       `json:"nextPageToken"`
	Prefixes      []string     `json:"prefixes"`
	Items         []objectJSON `json:"items"`
}

// readJSON decodes a JSON answer of at most maxJSONBody bytes into v.
func readJSON(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, maxJSONBody+1))
	if err != nil {
		return err
	}
	if len(data) > maxJSONBody {
		return fmt.Errorf("%w: answer larger than %d bytes", errMalformed, maxJSONBody)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errMalformed, err)
	}
	return nil
}

// decodeObject parses an object resource into driver attributes.
func decodeObject(data io.Reader) (*driver.Attributes, error) {
	var o objectJSON
	if err := readJSON(data, &o); err != nil {
		return nil, err
	}
	return o.attributes()
}

// attributes converts the resource, checking every field it parses.
func (o *objectJSON) attributes() (*driver.Attributes, error) {
	size, err := o.size()
	if err != nil {
		return nil, err
	}
	md5, err := o.md5()
	if err != nil {
		return nil, err
	}
	mod, err := parseTime("updated", o.Updated)
	if err != nil {
		return nil, err
	}
	created, err := parseTime("timeCreated", o.TimeCreated)
	if err != nil {
		return nil, err
	}
	etag := o.Etag
	if etag != "" && etag[0] != '"' && !(len(etag) > 1 && etag[:2] == "W/") {
		// The JSON API sends the ETag unquoted; HTTP (and gcsblob) quote it.
		etag = strconv.Quote(etag)
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &driver.Attributes{
		CacheControl:       o.CacheControl,
		ContentDisposition: o.ContentDisposition,
		ContentEncoding:    o.ContentEncoding,
		ContentLanguage:    o.ContentLanguage,
		ContentType:        ct,
		Metadata:           o.Metadata,
		CreateTime:         created,
		ModTime:            mod,
		Size:               size,
		MD5:                md5,
		ETag:               etag,
	}, nil
}

// size parses the size, sent as a decimal string (a bare number is accepted
// too, as some emulators send one).
func (o *objectJSON) size() (int64, error) {
	raw := bytes.Trim(o.Size, `"`)
	if len(raw) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: object %q has size %q", errMalformed, o.Name, safetext.Line(string(o.Size), 40))
	}
	return n, nil
}

// md5 decodes the base64 MD5 hash; composite objects have none.
func (o *objectJSON) md5() ([]byte, error) {
	if o.MD5Hash == "" {
		return nil, nil
	}
	sum, err := base64.StdEncoding.DecodeString(o.MD5Hash)
	if err != nil || len(sum) != 16 {
		return nil, fmt.Errorf("%w: object %q has MD5 %q", errMalformed, o.Name, safetext.Line(o.MD5Hash, 40))
	}
	return sum, nil
}

// parseTime parses an RFC 3339 time field; an absent field is the zero time.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %q is not an RFC 3339 time", errMalformed, field, safetext.Line(s, 40))
	}
	return t, nil
}

// decodeList parses one listing page into driver list objects (keys
// unescaped, not yet sorted) and the next page token.
func decodeList(data io.Reader) ([]*driver.ListObject, string, error) {
	var l listJSON
	if err := readJSON(data, &l); err != nil {
		return nil, "", err
	}
	objs := make([]*driver.ListObject, 0, len(l.Items)+len(l.Prefixes))
	for i := range l.Items {
		it := &l.Items[i]
		if it.Name == "" {
			return nil, "", fmt.Errorf("%w: listed object without a name", errMalformed)
		}
		size, err := it.size()
		if err != nil {
			return nil, "", err
		}
		md5, err := it.md5()
		if err != nil {
			return nil, "", err
		}
		mod, err := parseTime("updated", it.Updated)
		if err != nil {
			return nil, "", err
		}
		objs = append(objs, &driver.ListObject{Key: unescapeKey(it.Name), ModTime: mod, Size: size, MD5: md5})
	}
	for _, p := range l.Prefixes {
		if p == "" {
			return nil, "", fmt.Errorf("%w: empty listed prefix", errMalformed)
		}
		objs = append(objs, &driver.ListObject{Key: unescapeKey(p), IsDir: true})
	}
	return objs, l.NextPageToken, nil
}
