package s3

import (
	"context"

	"gocloud.dev/blob/driver"
)

// OpenDriver exposes the driver itself to the external tests (the
// conformance suite wants a driver.Bucket, and those tests cannot live in
// this package: test/objstore imports it).
func OpenDriver(ctx context.Context, name string, o Options) (driver.Bucket, error) {
	return openBucket(ctx, name, o)
}
