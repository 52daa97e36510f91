package backend

import (
	"fmt"

	"github.com/cairnbackup/cairn/pkg/repo/backend/azblob"
	"github.com/cairnbackup/cairn/pkg/repo/backend/gcs"
	"github.com/cairnbackup/cairn/pkg/repo/backend/s3"
)

// Credentials are explicit secrets for one bucket. A process that opens
// several buckets with different owners (the operator, one BackupStorage
// and Secret each) cannot use the environment, which is one per process:
// it passes the secrets here instead. Only the fields of the URL's
// provider are read; the others must be empty.
type Credentials struct {
	// AWSAccessKeyID, AWSSecretAccessKey and the optional AWSSessionToken
	// sign s3:// requests.
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string
	// GoogleServiceAccountJSON is a service account key file's content
	// (type "service_account"), for gs://.
	GoogleServiceAccountJSON []byte
	// AzureAccountName names the storage account for azblob://; with
	// AzureAccountKey (Shared Key) or AzureSASToken (a SAS query string).
	AzureAccountName, AzureAccountKey, AzureSASToken string
}

// String never shows a secret, so a Credentials printed by mistake
// (%v of an Options) leaks nothing.
func (c *Credentials) String() string {
	if c == nil {
		return "<default credentials>"
	}
	return "<explicit credentials>"
}

// GoString is String for %#v.
func (c *Credentials) GoString() string { return c.String() }

// check reports fields that belong to another provider than scheme, or a
// provider's fields left incomplete, without showing any value.
func (c *Credentials) check(scheme string) error {
	aws := c.AWSAccessKeyID != "" || c.AWSSecretAccessKey != "" || c.AWSSessionToken != ""
	google := len(c.GoogleServiceAccountJSON) != 0
	azure := c.AzureAccountName != "" || c.AzureAccountKey != "" || c.AzureSASToken != ""
	switch {
	case scheme == s3.Scheme && (google || azure), scheme == gcs.Scheme && (aws || azure), scheme == azblob.Scheme && (aws || google):
		return fmt.Errorf("explicit credentials for %s:// hold another provider's fields: %w", scheme, ErrInvalid)
	case scheme == s3.Scheme && (c.AWSAccessKeyID == "" || c.AWSSecretAccessKey == ""):
		return fmt.Errorf("explicit credentials for s3:// need both an access key ID and a secret access key: %w", ErrInvalid)
	case scheme == gcs.Scheme && !google:
		return fmt.Errorf("explicit credentials for gs:// need a service account JSON key: %w", ErrInvalid)
	case scheme == azblob.Scheme && (c.AzureAccountName == "" || (c.AzureAccountKey == "") == (c.AzureSASToken == "")):
		return fmt.Errorf("explicit credentials for azblob:// need the account name and exactly one of an account key or a SAS token: %w", ErrInvalid)
	}
	return nil
}
