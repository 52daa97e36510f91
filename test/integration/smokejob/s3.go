package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
)

// upload writes data to SMOKE_S3_KEY in SMOKE_S3_BUCKET through the S3
// opener Cairn's S3 backend uses, with path-style
// addressing as MinIO needs. Credentials come from the standard AWS
// variables, as in a backup Job.
func upload(ctx context.Context, endpoint string, data []byte) error {
	bucket, key := os.Getenv("SMOKE_S3_BUCKET"), os.Getenv("SMOKE_S3_KEY")
	if bucket == "" || key == "" {
		return fmt.Errorf("SMOKE_S3_BUCKET and SMOKE_S3_KEY must be set with SMOKE_S3_ENDPOINT")
	}
	region := os.Getenv("SMOKE_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	b, _, err := s3.Open(ctx, bucket, s3.Config{Region: region, Endpoint: endpoint, UsePathStyle: true})
	if err != nil {
		return fmt.Errorf("open bucket %s at %s: %w", bucket, endpoint, err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, key, data, nil); err != nil {
		return fmt.Errorf("write %s to bucket %s at %s: %w", key, bucket, endpoint, err)
	}
	return nil
}
