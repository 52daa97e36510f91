package azblob

import "gocloud.dev/blob/driver"

// OpenDriver gives the external tests (which may import test/objstore,
// itself a user of this package) the driver with a chosen block size.
func OpenDriver(container string, opts *Options, blockSize int) (driver.Bucket, error) {
	b, err := openWithOptions(container, opts)
	if err != nil {
		return nil, err
	}
	b.blockSize = blockSize
	return b, nil
}
