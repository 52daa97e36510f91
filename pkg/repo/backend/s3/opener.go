package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
)

// Scheme is the URL scheme the package registers with blob.DefaultURLMux.
const Scheme = "s3"

func init() {
	blob.DefaultURLMux().RegisterBucket(Scheme, new(URLOpener))
}

// URLOpener opens s3://bucket URLs. Query parameters:
//
//	region=eu-west-1          the bucket's region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1)
//	endpoint=http://host:9000 an S3-compatible store instead of AWS
//	use_path_style=true       address the bucket in the path (MinIO)
//	disable_https=true        plain http to the default endpoint
//	anonymous=true            unsigned requests (public buckets)
//	profile=NAME              the shared-files profile (default AWS_PROFILE, else "default")
//	ssetype=AES256|aws:kms    server-side encryption; kmskeyid=ID picks the KMS key
type URLOpener struct {
	// Options are the defaults the query parameters override.
	Options Options
}

// acceptedParams lists the query parameters, for the error about others.
var acceptedParams = []string{"region", "endpoint", "use_path_style", "disable_https", "anonymous", "profile", "ssetype", "kmskeyid"}

// renamedParams are parameters of other tools (or of s3blob) with the name
// to use instead.
var renamedParams = map[string]string{
	"s3ForcePathStyle": "use_path_style=true",
	"awssdk":           "nothing: cairn has its own S3 client; remove it",
	"fips":             "an explicit endpoint=https://s3-fips.<region>.amazonaws.com",
	"dualstack":        "an explicit endpoint=https://s3.dualstack.<region>.amazonaws.com",
	"accelerate":       "an explicit endpoint=https://s3-accelerate.amazonaws.com",
}

// OpenBucketURL implements blob.BucketURLOpener.
func (o *URLOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	opts, err := parseQuery(u.Query(), o.Options)
	if err != nil {
		return nil, fmt.Errorf("open s3://%s: %w", u.Host, err)
	}
	drv, err := openBucket(ctx, u.Host, opts)
	if err != nil {
		return nil, fmt.Errorf("open s3://%s: %w", u.Host, err)
	}
	return blob.NewBucket(drv), nil
}

// parseQuery applies the URL's query parameters to opts.
func parseQuery(q url.Values, opts Options) (Options, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q.Get(k)
		if len(q[k]) > 1 {
			return opts, fmt.Errorf("query parameter %q is given %d times: give it once: %w", k, len(q[k]), errInvalid)
		}
		var err error
		switch k {
		case "region":
			opts.Region = v
		case "endpoint":
			opts.Endpoint = v
		case "profile":
			opts.Profile = v
		case "ssetype":
			opts.SSEType = v
		case "kmskeyid":
			opts.KMSKeyID = v
		case "use_path_style":
			opts.UsePathStyle, err = parseBool(k, v)
		case "disable_https":
			opts.DisableHTTPS, err = parseBool(k, v)
		case "anonymous":
			opts.Anonymous, err = parseBool(k, v)
		default:
			if instead, ok := renamedParams[k]; ok {
				return opts, fmt.Errorf("query parameter %q is not supported: use %s: %w", k, instead, errInvalid)
			}
			return opts, fmt.Errorf("unknown query parameter %q: s3:// URLs take %s: %w", k, strings.Join(acceptedParams, ", "), errInvalid)
		}
		if err != nil {
			return opts, err
		}
	}
	return opts, nil
}

func parseBool(k, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s=%q: want true or false: %w", k, v, errInvalid)
	}
	return b, nil
}

// CABundleEnv names the PEM file of extra certificate authorities to trust
// (a private CA in front of an S3-compatible store), as the AWS SDKs read it.
const CABundleEnv = "AWS_CA_BUNDLE"

// defaultClient is the client used when the caller gave none: more idle
// connections per host (all traffic goes to one host, from several
// transfers at once), a bound on waiting for an answer's headers, the
// system roots plus AWS_CA_BUNDLE.
func defaultClient() (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.ResponseHeaderTimeout = 2 * time.Minute
	if path := os.Getenv(CABundleEnv); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("s3: %s: %w", CABundleEnv, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3: %s=%s holds no PEM certificate: %w", CABundleEnv, path, errInvalid)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}, nil
}
