package azblob

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"gocloud.dev/blob"
)

// Scheme is the URL scheme the package registers with blob.DefaultURLMux.
const Scheme = "azblob"

func init() {
	blob.DefaultURLMux().RegisterBucket(Scheme, new(URLOpener))
}

// URLOpener opens azblob://container URLs with credentials and addressing
// from the environment (see the package documentation). Query parameters
// domain, protocol, localemu and storage_account override the
// corresponding variables; anything else is refused.
type URLOpener struct {
	// Client, if set, sends every request (credentials are still added by
	// the driver). Nil means a transport tuned for one busy host.
	Client *http.Client
	// IMDSEndpoint replaces DefaultIMDSEndpoint for managed identity
	// (tests, and hosts whose metadata service is proxied).
	IMDSEndpoint string
	// Account with Key or SASToken, when set, replace every credential
	// the environment holds (a process serving several storage accounts
	// passes each its own).
	Account, Key, SASToken string
}

// OpenBucketURL implements blob.BucketURLOpener.
func (o *URLOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	g := env(os.Getenv)
	if o.Account != "" {
		g = o.explicitEnv
	}
	drv, err := o.open(g, u)
	if err != nil {
		return nil, fmt.Errorf("open azblob://%s: %w", u.Host, err)
	}
	return blob.NewBucket(drv), nil
}

// explicitEnv is the environment with the opener's credentials in place
// of any the process holds: only addressing variables are read from it.
func (o *URLOpener) explicitEnv(name string) string {
	switch name {
	case "AZURE_STORAGE_ACCOUNT":
		return o.Account
	case "AZURE_STORAGE_KEY":
		return o.Key
	case "AZURE_STORAGE_SAS_TOKEN":
		return o.SASToken
	case "AZURE_STORAGE_DOMAIN", "AZURE_STORAGE_PROTOCOL", "AZURE_STORAGE_IS_LOCAL_EMULATOR":
		return os.Getenv(name)
	}
	return ""
}

// open resolves the configuration of u and makes the driver.
func (o *URLOpener) open(g env, u *url.URL) (*bucket, error) {
	cs, err := connStringFromEnv(g)
	if err != nil {
		return nil, err
	}
	base, err := endpointFromEnv(g, cs)
	if err != nil {
		return nil, err
	}
	ep, err := base.withQuery(u.Query())
	if err != nil {
		return nil, err
	}
	svc, err := ep.serviceURL()
	if err != nil {
		return nil, err
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Transport: newTransport()}
	}
	auth, token, err := credentials(g, ep.account, cs, o.IMDSEndpoint, client)
	if err != nil {
		return nil, err
	}
	if token {
		// A SAS or bearer token is sent with every request: a URL must not
		// redirect it to another host than the environment names, nor
		// send it in clear text.
		if ep.domain != base.domain || ep.protocol != base.protocol || ep.localEmu != base.localEmu || (base.explicit != "" && ep.explicit == "") {
			return nil, fmt.Errorf("with a SAS token or Microsoft Entra credentials the URL cannot change the service endpoint (to %s): set AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_DOMAIN, AZURE_STORAGE_PROTOCOL or AZURE_STORAGE_IS_LOCAL_EMULATOR instead: %w", svc, errInvalid)
		}
		if su, err := url.Parse(svc); err == nil && su.Scheme != "https" && !isLoopback(su.Hostname()) {
			return nil, fmt.Errorf("tokens are only sent over https, but the service URL is %s: %w", svc, errInvalid)
		}
	}
	return newBucket(u.Host, svc, client, auth)
}

// Options configure OpenBucket.
type Options struct {
	// ServiceURL is the root of the Blob service, e.g.
	// https://account.blob.core.windows.net, or
	// http://127.0.0.1:10000/devstoreaccount1 for Azurite. Required.
	ServiceURL string
	// Account and Key are the storage account name and its base64 key,
	// for Shared Key authorization.
	Account, Key string
	// SASToken, if Key is empty, is a shared access signature query string.
	SASToken string
	// Client sends every request. Nil means a transport tuned for one
	// busy host.
	Client *http.Client
}

// OpenBucket opens the container with explicit settings, for callers that
// do not go through the environment (tools, tests). It does not contact
// the service.
func OpenBucket(ctx context.Context, container string, opts *Options) (*blob.Bucket, error) {
	drv, err := openWithOptions(container, opts)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(drv), nil
}

// openWithOptions makes the driver for OpenBucket and CreateContainer.
func openWithOptions(container string, opts *Options) (*bucket, error) {
	if opts == nil || opts.ServiceURL == "" {
		return nil, fmt.Errorf("azblob: Options.ServiceURL is required: %w", errInvalid)
	}
	var auth authorizer
	var err error
	switch {
	case opts.Key != "":
		auth, err = newSharedKey(opts.Account, opts.Key)
	case opts.SASToken != "":
		auth, err = newSASToken(opts.SASToken)
	default:
		return nil, fmt.Errorf("azblob: Options need Account and Key, or SASToken: %w", errInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("azblob: %w", err)
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Transport: newTransport()}
	}
	return newBucket(container, opts.ServiceURL, client, auth)
}

// CreateContainer creates a container (cairn itself never does: a
// repository's container is made by whoever owns the account). It is for
// tools and tests that set up storage.
func CreateContainer(ctx context.Context, container string, opts *Options) error {
	b, err := openWithOptions(container, opts)
	if err != nil {
		return err
	}
	return b.call(ctx, http.MethodPut, b.containerURL(url.Values{"restype": {"container"}}), "create container", "", nil)
}

// newTransport is http.DefaultTransport with more idle connections per
// host (all traffic goes to one host, from several uploads and downloads at
// once) and a bound on waiting for an answer's headers.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}
