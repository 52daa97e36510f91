// Command smokejob is the workload of the cluster smoke test. Run as a Job
// on the local cluster, it proves the pieces a Cairn backup pod relies on:
// it reads a Secret from the API server through its projected
// service-account token (reaching the server via the `kubernetes` Service,
// so through kube-proxy), checks that RBAC denies a Secret it was not
// granted, writes the value to its volume and reads it back, and uploads it
// to an S3 bucket with gocloud.dev's s3blob driver.
//
// Configuration comes from the environment:
//
//	SMOKE_SECRET, SMOKE_KEY       the Secret and key to read
//	SMOKE_FORBIDDEN_SECRET        a Secret the Role does not grant (optional)
//	SMOKE_DATA_DIR                a writable volume (optional)
//	SMOKE_S3_ENDPOINT, SMOKE_S3_BUCKET, SMOKE_S3_REGION, SMOKE_S3_KEY,
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   the upload target (optional)
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "smokejob:", err)
		os.Exit(1)
	}
	fmt.Println("smokejob: all checks passed")
}

// run performs every check whose configuration is present.
func run(ctx context.Context) error {
	api, err := inClusterAPI()
	if err != nil {
		return err
	}
	value, err := api.secretValue(ctx, os.Getenv("SMOKE_SECRET"), os.Getenv("SMOKE_KEY"))
	if err != nil {
		return err
	}
	fmt.Printf("smokejob: read secret %s through the API (%d bytes)\n", os.Getenv("SMOKE_SECRET"), len(value))
	if other := os.Getenv("SMOKE_FORBIDDEN_SECRET"); other != "" {
		if err := api.expectForbidden(ctx, other); err != nil {
			return err
		}
		fmt.Printf("smokejob: RBAC denied secret %s as it should\n", other)
	}
	if dir := os.Getenv("SMOKE_DATA_DIR"); dir != "" {
		if err := writeAndVerify(filepath.Join(dir, "smoke.txt"), value); err != nil {
			return err
		}
		fmt.Printf("smokejob: wrote and re-read %s\n", filepath.Join(dir, "smoke.txt"))
	}
	if endpoint := os.Getenv("SMOKE_S3_ENDPOINT"); endpoint != "" {
		if err := upload(ctx, endpoint, value); err != nil {
			return err
		}
		fmt.Printf("smokejob: uploaded to %s/%s\n", endpoint, os.Getenv("SMOKE_S3_BUCKET"))
	}
	return nil
}

// writeAndVerify writes data to path with fsync and reads it back.
func writeAndVerify(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s on the volume: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	back, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read back %s: %w", path, err)
	}
	if string(back) != string(data) {
		return fmt.Errorf("%s holds %d bytes that differ from the %d written", path, len(back), len(data))
	}
	return nil
}
