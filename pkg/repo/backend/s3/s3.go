// Package s3 opens s3:// URLs through gocloud.dev/blob/s3blob and the AWS
// SDK for Go v2, so every way a user's environment provides credentials
// works as it does for the AWS CLI: environment variables, shared config
// and credentials files with SSO, credential_process and
// source_profile/role_arn, web identity (IRSA), EKS Pod Identity, ECS
// task roles and IMDSv2. A caller that manages secrets itself (the
// operator, one Secret per BackupStorage) passes Keys instead.
//
// The SDK does not retry: the backend retries every store the same way.
package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/directupload"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/httppool"
)

// Scheme is the URL scheme this package opens.
const Scheme = "s3"

// DefaultRegion is the region used when neither the URL, AWS_REGION,
// AWS_DEFAULT_REGION nor the profile names one (S3-compatible stores
// mostly answer for it).
const DefaultRegion = "us-east-1"

// Keys are explicit AWS credentials, used instead of the default chain.
type Keys struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Config is what an s3:// URL's query parameters say.
type Config struct {
	// Region is the bucket's region; empty means the SDK's sources, then
	// AWS_DEFAULT_REGION, then DefaultRegion.
	Region string
	// Endpoint is an S3-compatible store's root URL (MinIO, Ceph, ...);
	// empty means AWS's endpoint for the region.
	Endpoint string
	// UsePathStyle addresses the bucket in the path (MinIO needs it).
	UsePathStyle bool
	// DisableHTTPS talks plain http to AWS's endpoint.
	DisableHTTPS bool
	// Anonymous sends unsigned requests (public buckets).
	Anonymous bool
	// Profile picks the shared-config profile (default AWS_PROFILE, else
	// "default").
	Profile string
	// SSEType asks for server-side encryption: AES256, aws:kms or
	// aws:kms:dsse; KMSKeyID picks the KMS key.
	SSEType, KMSKeyID string
	// Keys, when set, replace the default credential chain.
	Keys *Keys
}

// params lists the accepted query parameters, for the error about others.
var params = []string{"region", "endpoint", "use_path_style", "disable_https", "anonymous", "profile", "ssetype", "kmskeyid"}

// unsupported are query parameters of other tools (or of s3blob's own
// opener) with what to use instead.
var unsupported = map[string]string{
	"s3ForcePathStyle": "use_path_style=true",
	"awssdk":           "nothing: remove it (cairn always uses the AWS SDK v2)",
	"fips":             "an explicit endpoint=https://s3-fips.<region>.amazonaws.com",
	"dualstack":        "an explicit endpoint=https://s3.dualstack.<region>.amazonaws.com",
	"accelerate":       "an explicit endpoint=https://s3-accelerate.amazonaws.com",
}

// ParseQuery reads an s3:// URL's query parameters, refusing unknown ones
// by name together with the accepted ones.
func ParseQuery(q url.Values) (Config, error) {
	var c Config
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(q[k]) > 1 {
			return c, fmt.Errorf("query parameter %q is given %d times: give it once: %w", k, len(q[k]), errs.ErrInvalid)
		}
		v := q.Get(k)
		var err error
		switch k {
		case "region":
			c.Region = v
		case "endpoint":
			c.Endpoint = v
		case "profile":
			c.Profile = v
		case "ssetype":
			c.SSEType, err = sseType(v)
		case "kmskeyid":
			c.KMSKeyID = v
		case "use_path_style":
			c.UsePathStyle, err = parseBool(k, v)
		case "disable_https":
			c.DisableHTTPS, err = parseBool(k, v)
		case "anonymous":
			c.Anonymous, err = parseBool(k, v)
		default:
			if instead, ok := unsupported[k]; ok {
				return c, fmt.Errorf("query parameter %q is not supported: use %s: %w", k, instead, errs.ErrInvalid)
			}
			return c, fmt.Errorf("unknown query parameter %q: s3:// URLs take %s: %w", k, strings.Join(params, ", "), errs.ErrInvalid)
		}
		if err != nil {
			return c, err
		}
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("query parameter endpoint=%q: want http(s)://host[:port]: %w", c.Endpoint, errs.ErrInvalid)
		}
	}
	if c.KMSKeyID != "" && !strings.HasPrefix(c.SSEType, "aws:kms") {
		return c, fmt.Errorf("query parameter kmskeyid needs ssetype=aws:kms or aws:kms:dsse: %w", errs.ErrInvalid)
	}
	return c, nil
}

func sseType(v string) (string, error) {
	for _, t := range types.ServerSideEncryptionAes256.Values() {
		if strings.EqualFold(string(t), v) {
			return string(t), nil
		}
	}
	return "", fmt.Errorf("query parameter ssetype=%q: want AES256, aws:kms or aws:kms:dsse: %w", v, errs.ErrInvalid)
}

func parseBool(k, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s=%q: want true or false: %w", k, v, errs.ErrInvalid)
	}
	return b, nil
}

// NewClient makes the SDK client for c. It reads the shared config and
// environment but contacts nothing: credentials are fetched at the first
// request.
func NewClient(ctx context.Context, c Config) (*awss3.Client, error) {
	if c.Keys != nil && (c.Anonymous || c.Profile != "") {
		return nil, fmt.Errorf("anonymous=true or profile= and explicit credentials contradict each other: %w", errs.ErrInvalid)
	}
	region := c.Region
	if region == "" && os.Getenv("AWS_REGION") == "" {
		// The SDK reads AWS_REGION only; the CLI and older SDKs also
		// read AWS_DEFAULT_REGION, which users set.
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	var cfg aws.Config
	var err error
	if c.Keys != nil {
		cfg, err = explicitConfig(c, region)
	} else {
		cfg, err = defaultConfig(ctx, c, region)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if c.Endpoint != "" {
		// S3-compatible stores often refuse aws-chunked bodies with CRC
		// trailers, the SDK's default.
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	return awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.UsePathStyle
		o.EndpointOptions.DisableHTTPS = c.DisableHTTPS
	}), nil
}

// sharedHTTP is the HTTP client of every SDK client this process makes
// (unless a CA bundle asks for a transport of its own): one pool of
// connections per process. Frozen, so that the SDK uses it as it is
// instead of building a transport per client: a process that opens a
// bucket per task (the operator opens one per controller sync) would
// otherwise keep each open's idle connection, with two goroutines and
// their buffers, until it timed out, about 40 KiB of heap and 125 KiB
// resident per open.
var sharedHTTP = awshttp.NewBuildableClient().WithTransportOptions(httppool.Tune).Freeze()

// caClients are the shared clients of the CA bundles met so far, by the
// bundle's content (a process has one AWS_CA_BUNDLE; tests change it).
var caClients sync.Map // string(pem) -> aws.HTTPClient

// caBundleClient is the shared HTTP client that trusts the certificates
// of pem besides the system's.
func caBundleClient(pem []byte) (aws.HTTPClient, error) {
	if hc, ok := caClients.Load(string(pem)); ok {
		return hc.(aws.HTTPClient), nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the file holds no PEM certificate: %w", errs.ErrInvalid)
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(httppool.Tune, func(t *http.Transport) {
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}).Freeze()
	got, _ := caClients.LoadOrStore(string(pem), hc)
	return got.(aws.HTTPClient), nil
}

// defaultConfig is the SDK's configuration from the environment and the
// shared files, with its default credential chain (or none when
// anonymous), no retries and no logging (the SDK would print warnings,
// an IMDSv1 fallback say, on stderr; what matters reaches the caller in
// the errors).
func defaultConfig(ctx context.Context, c Config, region string) (aws.Config, error) {
	// The SDK adds a CA bundle (AWS_CA_BUNDLE, a profile's ca_bundle) to
	// a buildable client only; without one the shared client replaces it.
	hc := awshttp.NewBuildableClient().WithTransportOptions(httppool.Tune)
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithLogger(logging.Nop{}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Anonymous {
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.HTTPClient == aws.HTTPClient(hc) {
		cfg.HTTPClient = sharedHTTP
	}
	return cfg, nil
}

// explicitConfig is the configuration for explicit keys, which stand for
// the whole credential source: the process's shared files and profile
// (AWS_PROFILE, which fails when it names a missing profile) are not
// read. The region comes from the URL, AWS_REGION or AWS_DEFAULT_REGION,
// and AWS_CA_BUNDLE is honoured as the SDK honours it.
func explicitConfig(c Config, region string) (aws.Config, error) {
	if region == "" {
		region = os.Getenv("AWS_REGION")
	}
	hc := sharedHTTP
	if path := os.Getenv("AWS_CA_BUNDLE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return aws.Config{}, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
		}
		if hc, err = caBundleClient(pem); err != nil {
			return aws.Config{}, fmt.Errorf("AWS_CA_BUNDLE=%s: %w", path, err)
		}
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.Keys.AccessKeyID, c.Keys.SecretAccessKey, c.Keys.SessionToken)),
		HTTPClient:  hc,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		Logger:      logging.Nop{},
	}, nil
}

// Open opens bucket through s3blob and returns with it a direct upload
// that sends a caller's slice in one PutObject. It contacts nothing.
func Open(ctx context.Context, bucket string, c Config) (*blob.Bucket, directupload.Func, error) {
	client, err := NewClient(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	b, err := s3blob.OpenBucket(ctx, client, bucket, &s3blob.Options{
		EncryptionType:             types.ServerSideEncryption(c.SSEType),
		KMSEncryptionID:            c.KMSKeyID,
		RequestChecksumCalculation: client.Options().RequestChecksumCalculation,
	})
	if err != nil {
		return nil, nil, err
	}
	put := func(ctx context.Context, key string, data []byte) error {
		in := &awss3.PutObjectInput{
			Bucket:        aws.String(bucket),
			Key:           aws.String(key),
			Body:          bytes.NewReader(data),
			ContentLength: aws.Int64(int64(len(data))),
			ContentType:   aws.String("application/octet-stream"),
			IfNoneMatch:   aws.String("*"), // write-once: 412 if it exists
		}
		if c.SSEType != "" {
			in.ServerSideEncryption = types.ServerSideEncryption(c.SSEType)
		}
		if c.KMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(c.KMSKeyID)
		}
		var opts []func(*awss3.Options)
		if c.Endpoint != "" || c.DisableHTTPS {
			// The SDK would hash the whole body with SHA-256 to sign it (a
			// quarter of a backup's CPU time); AWS itself gets a CRC32
			// trailer instead, which S3-compatible stores may refuse. Over
			// https the body is sent unsigned (TLS guards it); over plain
			// http a CRC-32C header, which the store checks, guards it at a
			// tenth of the cost, and the signature covers that header.
			opts = append(opts, awss3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
			if u, err := url.Parse(c.Endpoint); c.Endpoint == "" || err == nil && u.Scheme == "http" {
				in.ChecksumCRC32C = aws.String(crc32c(data))
			}
		}
		_, err := client.PutObject(ctx, in, opts...)
		return err
	}
	return b, put, nil
}

// castagnoli is the CRC-32C table (hardware-accelerated on amd64/arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is S3's x-amz-checksum-crc32c value of data: the big-endian
// CRC-32C in base64.
func crc32c(data []byte) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(data, castagnoli))
	return base64.StdEncoding.EncodeToString(sum[:])
}
