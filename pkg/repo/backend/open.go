package backend

import (
	"context"
	"fmt"
	"net/url"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob" // mem:// URLs

	"github.com/cairnbackup/cairn/pkg/repo/backend/azblob"
	_ "github.com/cairnbackup/cairn/pkg/repo/backend/fsblob" // file:// URLs (fsync, atomic write-once)
	"github.com/cairnbackup/cairn/pkg/repo/backend/gcs"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
)

// openBucket opens the bucket u names (u's path already taken off as the
// prefix, except for file:// and mem://). Cloud URLs go to their own
// opener, which parses cairn's documented parameters and builds the SDK
// client (with creds, or the provider's default chain when creds is nil)
// for gocloud's driver; the others go to gocloud's URL mux. The
// directupload.Func, if any, writes a whole object from the caller's
// slice.
func openBucket(ctx context.Context, u *url.URL, creds *Credentials) (*blob.Bucket, directupload.Func, error) {
	if creds != nil {
		if err := creds.check(u.Scheme); err != nil {
			return nil, nil, err
		}
	}
	switch u.Scheme {
	case s3.Scheme:
		c, err := s3.ParseQuery(u.Query())
		if err != nil {
			return nil, nil, err
		}
		if creds != nil {
			c.Keys = &s3.Keys{AccessKeyID: creds.AWSAccessKeyID, SecretAccessKey: creds.AWSSecretAccessKey, SessionToken: creds.AWSSessionToken}
		}
		return s3.Open(ctx, u.Host, c)
	case gcs.Scheme:
		c, err := gcs.ParseQuery(u.Query())
		if err != nil {
			return nil, nil, err
		}
		if creds != nil {
			c.ServiceAccountJSON = creds.GoogleServiceAccountJSON
		}
		return gcs.Open(ctx, u.Host, c)
	case azblob.Scheme:
		var keys *azblob.Keys
		if creds != nil {
			keys = &azblob.Keys{Account: creds.AzureAccountName, Key: creds.AzureAccountKey, SASToken: creds.AzureSASToken}
		}
		return azblob.OpenURL(ctx, u, keys)
	case "file", "mem":
		if creds != nil {
			return nil, nil, fmt.Errorf("explicit credentials are not used by %s:// URLs: %w", u.Scheme, ErrInvalid)
		}
		b, err := blob.OpenBucket(ctx, u.String())
		return b, nil, err
	}
	return nil, nil, fmt.Errorf("unsupported scheme %s://: use file://, s3://, gs:// or azblob:// (mem:// for tests): %w", u.Scheme, ErrInvalid)
}
