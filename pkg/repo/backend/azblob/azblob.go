// Package azblob is a gocloud.dev/blob driver for Azure Blob Storage that
// speaks the Blob service REST API over net/http. It replaces
// gocloud.dev/blob/azureblob, whose Azure SDK cost every cairn process
// ~1.8 MB of memory at start-up and ~5 MB of binary whether or not the
// repository was on Azure, and whose writer panicked when a conditional
// create lost.
//
// Importing the package registers the "azblob" URL scheme, so
// blob.OpenBucket(ctx, "azblob://container") works. It covers what the
// repository needs: ranged reads, properties, paged listing, deletes,
// server-side copies, and writes (Put Blob up to one block, Put Block and
// Put Block List beyond) with write-once creates (If-None-Match: *).
// blob.Bucket.Upload of a *bytes.Reader goes up in one Put Blob from the
// caller's memory, which Bucket.As reports with a directupload.Marker.
//
// Credentials, in this order: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY
// (Shared Key), AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING,
// Microsoft Entra workload identity (AZURE_FEDERATED_TOKEN_FILE,
// AZURE_CLIENT_ID, AZURE_TENANT_ID, optionally AZURE_AUTHORITY_HOST), a
// client secret (AZURE_CLIENT_SECRET instead of the token file), and
// finally a managed identity from the instance metadata service
// (AZURE_CLIENT_ID selects a user-assigned one). The service URL is
// https://<account>.<domain> (AZURE_STORAGE_DOMAIN, default
// blob.core.windows.net), or http(s)://<domain>/<account> with
// AZURE_STORAGE_IS_LOCAL_EMULATOR=true (Azurite).
package azblob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/objhttp"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/pctencode"
)

// APIVersion is the x-ms-version sent with every request: recent enough
// for bearer tokens and 5000 MiB Put Blob, and accepted by Azurite.
const APIVersion = "2023-11-03"

// bucket implements driver.Bucket.
type bucket struct {
	container string
	service   string // root of the Blob service, no trailing "/"
	client    *http.Client
	auth      authorizer
	blockSize int
	copyPoll  time.Duration
}

// newBucket checks the container name and makes the driver.
func newBucket(container, service string, client *http.Client, auth authorizer) (*bucket, error) {
	if err := checkContainerName(container); err != nil {
		return nil, err
	}
	return &bucket{
		container: container,
		service:   strings.TrimRight(service, "/"),
		client:    client,
		auth:      auth,
		blockSize: defaultBlockSize,
		copyPoll:  200 * time.Millisecond,
	}, nil
}

// checkContainerName rejects names Azure would refuse, with the rule.
func checkContainerName(name string) error {
	ok := len(name) >= 3 && len(name) <= 63 && !strings.Contains(name, "--")
	for i, r := range name {
		alnum := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !alnum && (r != '-' || i == 0 || i == len(name)-1) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("azblob: invalid container name %q: use 3-63 lower-case letters, digits and single '-', starting and ending with a letter or digit: %w", name, errInvalid)
	}
	return nil
}

// containerURL is the address of the container, plus query parameters.
func (b *bucket) containerURL(q url.Values) string {
	u := b.service + "/" + b.container
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// blobURL is the address of one blob, plus query parameters. An empty key
// is refused: its address would be the container's.
func (b *bucket) blobURL(op, key string, q url.Values) (string, error) {
	if key == "" {
		return "", fmt.Errorf("azblob: %s: empty key: %w", op, errInvalid)
	}
	u := b.service + "/" + b.container + "/" + pctencode.EscapePath(escapeKey(key, false))
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, nil
}

// newRequest makes a request carrying the API version.
func (b *bucket) newRequest(ctx context.Context, method, u, op, key string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("azblob: %s %s: %w", op, svc.Target(b.container, key), err)
	}
	req.Header.Set("x-ms-version", APIVersion)
	return req, nil
}

// do authorizes and sends req and returns the response if its status is
// 2xx; any other status becomes an *Error and the body is closed.
func (b *bucket) do(req *http.Request, op, key string) (*http.Response, error) {
	if err := b.auth.authorize(req); err != nil {
		return nil, transportError(op, b.container, key, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, transportError(op, b.container, key, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, statusError(op, b.container, key, resp)
}

// call sends a request with optional headers and discards a successful
// answer's body.
func (b *bucket) call(ctx context.Context, method, u, op, key string, h http.Header) error {
	req, err := b.newRequest(ctx, method, u, op, key, nil)
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := b.do(req, op, key)
	if err != nil {
		return err
	}
	objhttp.DrainClose(resp.Body)
	return nil
}

// ErrorCode implements driver.Bucket.
func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// As implements driver.Bucket; it exposes nothing.
func (b *bucket) As(i any) bool { return false }

// ErrorAs implements driver.Bucket: **Error receives the service's answer.
func (b *bucket) ErrorAs(err error, i any) bool {
	p, ok := i.(**Error)
	return ok && errors.As(err, p)
}

// Attributes implements driver.Bucket with Get Blob Properties.
func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	u, err := b.blobURL("stat", key, nil)
	if err != nil {
		return nil, err
	}
	req, err := b.newRequest(ctx, http.MethodHead, u, "stat", key, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.do(req, "stat", key)
	if err != nil {
		return nil, err
	}
	objhttp.DrainClose(resp.Body)
	a, err := attributesFromHeader(resp.Header)
	if err != nil {
		return nil, fmt.Errorf("azblob: stat %s: %w", svc.Target(b.container, key), err)
	}
	return a, nil
}

// Delete implements driver.Bucket with Delete Blob.
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if opts.BeforeDelete != nil {
		if err := opts.BeforeDelete(objhttp.NoAs); err != nil {
			return err
		}
	}
	u, err := b.blobURL("delete", key, nil)
	if err != nil {
		return err
	}
	return b.call(ctx, http.MethodDelete, u, "delete", key, nil)
}

// Copy implements driver.Bucket with Copy Blob, which keeps the source's
// properties and metadata. Inside one account the service usually copies
// at once; a pending copy is polled until it finishes.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(objhttp.NoAs); err != nil {
			return err
		}
	}
	src, err := b.blobURL("copy", srcKey, nil)
	if err != nil {
		return err
	}
	dst, err := b.blobURL("copy", dstKey, nil)
	if err != nil {
		return err
	}
	if s, ok := b.auth.(*sasToken); ok {
		// The source is read with the same signature as the destination.
		src += "?" + s.query
	}
	req, err := b.newRequest(ctx, http.MethodPut, dst, "copy", srcKey, nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-ms-copy-source", src)
	resp, err := b.do(req, "copy", srcKey)
	if err != nil {
		return err
	}
	objhttp.DrainClose(resp.Body)
	status := resp.Header.Get("x-ms-copy-status")
	for status == "pending" {
		t := time.NewTimer(b.copyPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("azblob: copy %s: %w", svc.Target(b.container, srcKey), ctx.Err())
		case <-t.C:
		}
		req, err := b.newRequest(ctx, http.MethodHead, dst, "copy", dstKey, nil)
		if err != nil {
			return err
		}
		resp, err := b.do(req, "copy", dstKey)
		if err != nil {
			return err
		}
		objhttp.DrainClose(resp.Body)
		status = resp.Header.Get("x-ms-copy-status")
	}
	if status != "" && status != "success" {
		return &Error{Op: "copy", Container: b.container, Key: srcKey, Status: http.StatusInternalServerError,
			Code: "CopyFailed", Message: safetext.Line("copy ended with status "+status, objhttp.MaxMessage)}
	}
	return nil
}

// SignedURL implements driver.Bucket: cairn hands out no signed URLs.
func (b *bucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", fmt.Errorf("azblob: signed URLs: %w", errUnimplemented)
}

// Close implements driver.Bucket; idle connections belong to the client.
func (b *bucket) Close() error { return nil }
