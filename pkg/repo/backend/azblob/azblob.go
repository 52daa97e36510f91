// Package azblob opens azblob:// URLs through gocloud.dev/blob/azureblob
// and Azure's SDK. The storage account and endpoint come from the
// environment variables gocloud's azureblob reads (AZURE_STORAGE_ACCOUNT,
// AZURE_STORAGE_DOMAIN, AZURE_STORAGE_PROTOCOL,
// AZURE_STORAGE_IS_LOCAL_EMULATOR), which the URL's query parameters
// domain, protocol, localemu and storage_account override. Credentials,
// in order: AZURE_STORAGE_KEY (Shared Key), AZURE_STORAGE_SAS_TOKEN,
// AZURE_STORAGE_CONNECTION_STRING, then Microsoft Entra ID through
// azidentity's DefaultAzureCredential (client secret or certificate,
// AKS workload identity, managed identity, Azure CLI). A caller that
// manages secrets itself passes Keys instead.
//
// The SDK does not retry blob requests: the backend retries every store
// the same way. (Token requests keep azidentity's own retries, which ride
// out a metadata service that answers 404 or 410 while a node boots.)
package azblob

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	sdkblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/httppool"
)

// Scheme is the URL scheme this package opens.
const Scheme = "azblob"

// Keys are explicit credentials, used instead of the environment's:
// Account with Key (Shared Key) or with SASToken.
type Keys struct {
	Account, Key, SASToken string
}

// OpenURL opens the container u names (azblob://container?...), with
// keys or, when keys is nil, the environment's credentials. It contacts
// nothing.
func OpenURL(ctx context.Context, u *url.URL, keys *Keys) (*blob.Bucket, directupload.Func, error) {
	svc, cred, err := resolve(os.Getenv, u, keys)
	if err != nil {
		return nil, nil, err
	}
	return open(svc, u.Host, cred)
}

// resolve works out the service URL and the credential for u.
func resolve(g env, u *url.URL, keys *Keys) (string, credential, error) {
	if keys != nil {
		// Only addressing comes from the environment; the account is the
		// caller's unless the URL names one.
		g = explicitEnv(g, keys.Account)
	}
	cs, err := connStringFromEnv(g)
	if err != nil {
		return "", credential{}, err
	}
	base, err := endpointFromEnv(g, cs)
	if err != nil {
		return "", credential{}, err
	}
	ep, err := base.withQuery(u.Query())
	if err != nil {
		return "", credential{}, err
	}
	svc, err := ep.serviceURL()
	if err != nil {
		return "", credential{}, err
	}
	var cred credential
	if keys != nil {
		cred = credential{account: ep.account, key: keys.Key, sas: keys.SASToken}
		if keys.Key == "" {
			cred.account = ""
			err = checkSAS(keys.SASToken)
		}
	} else {
		cred, err = credentialFromEnv(g, ep.account, cs)
		// A token from the environment must not be sent to another host
		// than the environment names because a URL says so.
		if err == nil && cred.token() && (ep.domain != base.domain || ep.protocol != base.protocol || ep.localEmu != base.localEmu || (base.explicit != "" && ep.explicit == "")) {
			err = fmt.Errorf("with a SAS token or Microsoft Entra credentials the URL cannot change the service endpoint (to %s): set AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_DOMAIN, AZURE_STORAGE_PROTOCOL or AZURE_STORAGE_IS_LOCAL_EMULATOR instead: %w", svc, errInvalid)
		}
	}
	if err != nil {
		return "", credential{}, err
	}
	if su, err := url.Parse(svc); err == nil && cred.token() && su.Scheme != "https" && !isLoopback(su.Hostname()) {
		return "", credential{}, fmt.Errorf("tokens are only sent over https, but the service URL is %s: %w", svc, errInvalid)
	}
	return svc, cred, nil
}

// explicitEnv is g with credentials hidden: only the addressing
// variables are read, and account is the storage account.
func explicitEnv(g env, account string) env {
	return func(name string) string {
		switch name {
		case "AZURE_STORAGE_ACCOUNT":
			return account
		case "AZURE_STORAGE_DOMAIN", "AZURE_STORAGE_PROTOCOL", "AZURE_STORAGE_IS_LOCAL_EMULATOR":
			return g(name)
		}
		return ""
	}
}

// isLoopback reports whether host is this machine (an emulator may be
// reached over plain http with a token).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Options address a container explicitly, for tools and tests that do not
// go through the environment.
type Options struct {
	// ServiceURL is the Blob service's root, e.g.
	// https://account.blob.core.windows.net, or
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite.
	ServiceURL string
	// Account and Key authorize with Shared Key; SASToken otherwise.
	Account, Key, SASToken string
}

// Open opens container with explicit settings. It contacts nothing.
func Open(ctx context.Context, name string, o Options) (*blob.Bucket, directupload.Func, error) {
	return open(o.ServiceURL, name, credential{account: o.Account, key: o.Key, sas: o.SASToken})
}

// CreateContainer creates a container (cairn itself never does: a
// repository's container is made by whoever owns the account), for tools
// and tests that set up storage.
func CreateContainer(ctx context.Context, name string, o Options) error {
	client, err := newClient(o.ServiceURL, name, credential{account: o.Account, key: o.Key, sas: o.SASToken})
	if err != nil {
		return err
	}
	_, err = client.Create(ctx, nil)
	return err
}

// open makes the container client, gocloud's bucket over it and the
// direct upload.
func open(svc, name string, cred credential) (*blob.Bucket, directupload.Func, error) {
	client, err := newClient(svc, name, cred)
	if err != nil {
		return nil, nil, err
	}
	b, err := azureblob.OpenBucket(context.Background(), client, nil)
	if err != nil {
		return nil, nil, err
	}
	put := func(ctx context.Context, key string, data []byte) error {
		any := azcore.ETagAny
		ct := "application/octet-stream"
		// One Put Blob from data (up to 5000 MiB), only if none exists.
		_, err := client.NewBlockBlobClient(key).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
			HTTPHeaders:      &azblobblob.HTTPHeaders{BlobContentType: &ct},
			AccessConditions: &azblobblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfNoneMatch: &any}},
		})
		return err
	}
	return b, put, nil
}

// newClient makes the SDK's container client for cred, with retries off
// and a transport tuned for one busy host.
func newClient(svc, name string, cred credential) (*container.Client, error) {
	if svc == "" {
		return nil, fmt.Errorf("azblob: the service URL is empty: %w", errInvalid)
	}
	containerURL, err := url.JoinPath(svc, name)
	if err != nil {
		return nil, fmt.Errorf("azblob: service URL %q: %w", svc, errInvalid)
	}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: &http.Client{Transport: httppool.Transport()},
	}}
	switch {
	case cred.key != "":
		k, err := sdkblob.NewSharedKeyCredential(cred.account, cred.key)
		if err != nil {
			// The SDK's message would not hold the key, but say only why.
			return nil, fmt.Errorf("azblob: the account key is not base64: %w", errInvalid)
		}
		return container.NewClientWithSharedKeyCredential(containerURL, k, opts)
	case cred.sas != "":
		return container.NewClientWithNoCredential(containerURL+"?"+strings.TrimPrefix(cred.sas, "?"), opts)
	case cred.entra:
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azblob: Microsoft Entra credentials: %w", err)
		}
		return container.NewClient(containerURL, c, opts)
	}
	return nil, fmt.Errorf("azblob: no credentials: give an account key or a SAS token: %w", errInvalid)
}
