package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob/s3blob"
)

// upload writes data to SMOKE_S3_KEY in SMOKE_S3_BUCKET through s3blob, the
// driver Cairn's S3 backend uses, with path-style addressing as MinIO needs.
func upload(ctx context.Context, endpoint string, data []byte) error {
	bucket, key := os.Getenv("SMOKE_S3_BUCKET"), os.Getenv("SMOKE_S3_KEY")
	if bucket == "" || key == "" {
		return fmt.Errorf("SMOKE_S3_BUCKET and SMOKE_S3_KEY must be set with SMOKE_S3_ENDPOINT")
	}
	region := os.Getenv("SMOKE_S3_REGION")
	if region == "" {
		region = "us-east-1"
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	b, err := s3blob.OpenBucket(ctx, client, bucket, nil)
	if err != nil {
		return fmt.Errorf("open bucket %s at %s: %w", bucket, endpoint, err)
	}
	defer b.Close()
	if err := b.WriteAll(ctx, key, data, nil); err != nil {
		return fmt.Errorf("write %s to bucket %s at %s: %w", key, bucket, endpoint, err)
	}
	return nil
}
