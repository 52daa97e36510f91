package azblob

import (
	"fmt"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/safetext"
)

// connString is what cairn uses of an Azure Storage connection string
// ("DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;
// EndpointSuffix=core.windows.net", or "BlobEndpoint=...;
// SharedAccessSignature=...", or "UseDevelopmentStorage=true").
type connString struct {
	protocol     string
	account      string
	key          string
	sas          string
	blobEndpoint string
	suffix       string
}

// devStorage* are Azurite's published development account and key, which
// "UseDevelopmentStorage=true" stands for (documented by Microsoft, not a secret).
const (
	devStorageAccount  = "devstoreaccount1"
	devStorageKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devStorageEndpoint = "http://127.0.0.1:10000/devstoreaccount1"
)

// parseConnString parses a connection string. Names are matched without
// regard to case; values may hold "=" (base64 keys, SAS tokens). Errors
// name the offending setting, never a value.
func parseConnString(s string) (connString, error) {
	var c connString
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return connString{}, fmt.Errorf("the connection string has a part without \"name=value\" (copy it whole from the account's Access keys page): %w", errInvalid)
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "defaultendpointsprotocol":
			c.protocol = strings.ToLower(value)
		case "accountname":
			c.account = value
		case "accountkey":
			c.key = value
		case "sharedaccesssignature":
			c.sas = value
		case "blobendpoint":
			c.blobEndpoint = strings.TrimRight(value, "/")
		case "endpointsuffix":
			c.suffix = value
		case "usedevelopmentstorage":
			if strings.EqualFold(value, "true") {
				c.protocol, c.account, c.key, c.blobEndpoint = "http", devStorageAccount, devStorageKey, devStorageEndpoint
			}
		case "queueendpoint", "tableendpoint", "fileendpoint":
			// Other services' endpoints do not concern blobs.
		default:
			return connString{}, fmt.Errorf("the connection string has the unknown setting %q (known: DefaultEndpointsProtocol, AccountName, AccountKey, SharedAccessSignature, BlobEndpoint, EndpointSuffix, UseDevelopmentStorage): %w", safetext.Line(name, 40), errInvalid)
		}
	}
	if c.protocol != "" && c.protocol != "http" && c.protocol != "https" {
		return connString{}, fmt.Errorf("the connection string's DefaultEndpointsProtocol must be http or https: %w", errInvalid)
	}
	if c.key == "" && c.sas == "" {
		return connString{}, fmt.Errorf("the connection string has neither AccountKey nor SharedAccessSignature: %w", errInvalid)
	}
	if c.key != "" && c.account == "" {
		return connString{}, fmt.Errorf("the connection string has an AccountKey but no AccountName: %w", errInvalid)
	}
	if c.account == "" && c.blobEndpoint == "" {
		return connString{}, fmt.Errorf("the connection string names neither AccountName nor BlobEndpoint: %w", errInvalid)
	}
	return c, nil
}
