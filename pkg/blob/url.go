package blob

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
)

// StorageURL is the URL of st's prefix, in the form pkg/repo/backend and
// the `cairn` CLI open: s3://bucket/prefix?endpoint=...&use_path_style=true,
// gs://bucket/prefix, azblob://container/prefix?storage_account=...,
// file:///mount/path for a local volume (as mounted in a Job). It holds no
// secret.
func StorageURL(st *storagev1.Backend) (string, error) {
	switch {
	case st.Provider == storagev1.ProviderS3 && st.S3 != nil:
		return s3URL(st.S3)
	case st.Provider == storagev1.ProviderGCS && st.GCS != nil:
		return (&url.URL{Scheme: "gs", Host: st.GCS.Bucket, Path: cleanPrefix(st.GCS.Prefix)}).String(), nil
	case st.Provider == storagev1.ProviderAzure && st.Azure != nil:
		return azureURL(st.Azure)
	case st.Provider == storagev1.ProviderLocal && st.Local != nil:
		return (&url.URL{Scheme: "file", Path: path.Clean(st.Local.MountPath)}).String(), nil
	}
	return "", invalidf("spec.storage.provider is %q but its section is not set: set spec.storage.%s", st.Provider, st.Provider)
}

// RepositoryURL is the engine repository URL of directory dir of st:
// <StorageURL's prefix>/<dir> with the same parameters.
func RepositoryURL(st *storagev1.Backend, dir string) (string, error) {
	d, err := CleanDirectory(dir)
	if err != nil {
		return "", err
	}
	base, err := StorageURL(st)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", invalidf("storage URL: %v", err)
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/" + d
	return u.String(), nil
}

// CleanDirectory checks a Repository's directory and returns it without
// leading or trailing slashes. It must stay inside the storage's prefix.
func CleanDirectory(dir string) (string, error) {
	d := strings.Trim(dir, "/")
	if d == "" {
		return "", invalidf("the repository directory is empty: set spec.path")
	}
	for _, part := range strings.Split(d, "/") {
		if part == "" || part == "." || part == ".." {
			return "", invalidf("repository directory %q must be a relative path without empty, '.' or '..' segments", dir)
		}
	}
	return d, nil
}

// cleanPrefix is a storage prefix as a URL path: "/a/b", or "" for none.
func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

func s3URL(s *storagev1.S3Spec) (string, error) {
	q := url.Values{}
	if s.Region != "" {
		q.Set("region", s.Region)
	}
	if s.Endpoint != "" {
		ep, err := url.Parse(s.Endpoint)
		if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
			return "", invalidf("spec.storage.s3.endpoint %q is not an http(s)://host[:port] URL", s.Endpoint)
		}
		if s.InsecureTLS && ep.Scheme == "https" {
			return "", invalidf("spec.storage.s3.insecureTLS is not supported by this version of Cairn: give the endpoint a certificate its clients trust, or use http:// inside the cluster")
		}
		q.Set("endpoint", strings.TrimRight(s.Endpoint, "/"))
		if !strings.HasSuffix(ep.Hostname(), "amazonaws.com") {
			// S3-compatible stores (MinIO, Ceph) address buckets in the path.
			q.Set("use_path_style", "true")
		}
	}
	u := url.URL{Scheme: "s3", Host: s.Bucket, Path: cleanPrefix(s.Prefix), RawQuery: q.Encode()}
	return u.String(), nil
}

// azureURL addresses the account by query parameters: storage_account, and
// for another endpoint than Azure's public cloud its protocol and domain
// (localemu when the account is a path segment, as on Azurite).
func azureURL(a *storagev1.AzureSpec) (string, error) {
	q := url.Values{"storage_account": {a.StorageAccount}}
	if a.Endpoint != "" {
		ep, err := url.Parse(a.Endpoint)
		if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" {
			return "", invalidf("spec.storage.azure.endpoint %q is not an http(s)://host[:port] URL", a.Endpoint)
		}
		if ep.Scheme != "https" {
			q.Set("protocol", ep.Scheme)
		}
		if domain, ok := strings.CutPrefix(ep.Host, a.StorageAccount+"."); ok {
			q.Set("domain", domain)
		} else {
			if p := strings.Trim(ep.Path, "/"); p != "" && p != a.StorageAccount {
				return "", invalidf("spec.storage.azure.endpoint %q names account %q in its path but storageAccount is %q", a.Endpoint, p, a.StorageAccount)
			}
			q.Set("domain", ep.Host)
			q.Set("localemu", "true")
		}
	}
	u := url.URL{Scheme: "azblob", Host: a.Container, Path: cleanPrefix(a.Prefix), RawQuery: q.Encode()}
	return u.String(), nil
}

func invalidf(format string, args ...any) *Error {
	return &Error{Reason: ReasonInvalid, msg: fmt.Sprintf(format, args...)}
}
