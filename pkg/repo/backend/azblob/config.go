package azblob

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cairnbackup/cairn/pkg/repo/backend/internal/errs"
)

// errInvalid marks a configuration that cannot work (backend.ErrInvalid).
var errInvalid = errs.ErrInvalid

// Where a bucket's requests go and how they are authorized, resolved from
// the environment (the variables gocloud's azureblob and Azure's SDKs
// read) and the azblob:// URL's query parameters.

// DefaultDomain is the Blob service's domain in Azure's public cloud.
const DefaultDomain = "blob.core.windows.net"

// endpointParams are the azblob:// query parameters that shape the service
// URL, with what they replace.
var endpointParams = map[string]string{
	"domain":          "AZURE_STORAGE_DOMAIN",
	"protocol":        "AZURE_STORAGE_PROTOCOL",
	"localemu":        "AZURE_STORAGE_IS_LOCAL_EMULATOR",
	"storage_account": "AZURE_STORAGE_ACCOUNT",
}

// unsupportedParams are gocloud azureblob parameters this driver refuses,
// with what to do instead.
var unsupportedParams = map[string]string{
	"cdn": "a CDN serves reads only and backups need writes; address the storage account itself",
}

// endpoint is the addressing part of the configuration.
type endpoint struct {
	account  string
	domain   string
	protocol string
	localEmu bool
	explicit string // a connection string's BlobEndpoint
}

// serviceURL is the root of the Blob service: protocol://account.domain,
// or protocol://domain/account for the local emulator (and loopback
// domains), or a connection string's BlobEndpoint.
func (e endpoint) serviceURL() (string, error) {
	if e.explicit != "" {
		u, err := url.Parse(e.explicit)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return "", fmt.Errorf("the connection string's BlobEndpoint is not an http(s) URL without a query: %w", errInvalid)
		}
		return strings.TrimRight(e.explicit, "/"), nil
	}
	if e.account == "" {
		return "", fmt.Errorf("no storage account: set AZURE_STORAGE_ACCOUNT or add ?storage_account=NAME to the URL: %w", errInvalid)
	}
	if !validAccount(e.account) {
		return "", fmt.Errorf("storage account name %q is invalid: use 3-24 lower-case letters and digits: %w", e.account, errInvalid)
	}
	protocol := e.protocol
	if protocol == "" {
		protocol = "https"
	}
	if protocol != "http" && protocol != "https" {
		return "", fmt.Errorf("protocol %q: want http or https: %w", protocol, errInvalid)
	}
	domain := e.domain
	if domain == "" {
		domain = DefaultDomain
	}
	if strings.ContainsAny(domain, "/?#@ ") {
		return "", fmt.Errorf("storage domain %q must be a host name (with an optional port), e.g. %s: %w", domain, DefaultDomain, errInvalid)
	}
	if e.localEmu || strings.HasPrefix(domain, "127.0.0.1") || strings.HasPrefix(domain, "localhost") {
		return protocol + "://" + domain + "/" + e.account, nil
	}
	return protocol + "://" + e.account + "." + domain, nil
}

// validAccount reports whether name is a storage account name (the
// emulator's devstoreaccount1 included).
func validAccount(name string) bool {
	if len(name) < 3 || len(name) > 24 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// env reads a variable; tests replace it.
type env func(string) string

// bool parses a boolean variable, naming it in the error.
func (g env) bool(name string) (bool, error) {
	v := g(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false: %w", name, v, errInvalid)
	}
	return b, nil
}

// endpointFromEnv reads the addressing variables.
func endpointFromEnv(g env, cs *connString) (endpoint, error) {
	e := endpoint{account: g("AZURE_STORAGE_ACCOUNT"), domain: g("AZURE_STORAGE_DOMAIN"), protocol: g("AZURE_STORAGE_PROTOCOL")}
	var err error
	if e.localEmu, err = g.bool("AZURE_STORAGE_IS_LOCAL_EMULATOR"); err != nil {
		return endpoint{}, err
	}
	if cs != nil {
		if e.account == "" {
			e.account = cs.account
		}
		if e.protocol == "" {
			e.protocol = cs.protocol
		}
		if e.domain == "" && cs.suffix != "" {
			e.domain = "blob." + cs.suffix
		}
		if e.domain == "" && g("AZURE_STORAGE_ACCOUNT") == "" {
			e.explicit = cs.blobEndpoint
		}
	}
	return e, nil
}

// withQuery applies the URL's query parameters, refusing unknown ones.
func (e endpoint) withQuery(q url.Values) (endpoint, error) {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if why, ok := unsupportedParams[k]; ok {
			return endpoint{}, fmt.Errorf("query parameter %q is not supported: %s: %w", k, why, errInvalid)
		}
		if _, ok := endpointParams[k]; !ok {
			return endpoint{}, fmt.Errorf("unknown query parameter %q: azblob:// URLs take only domain, localemu, protocol and storage_account: %w", k, errInvalid)
		}
		if len(q[k]) > 1 {
			return endpoint{}, fmt.Errorf("query parameter %q is given more than once: %w", k, errInvalid)
		}
		v := q.Get(k)
		switch k {
		case "domain":
			e.domain = v
		case "protocol":
			e.protocol = v
		case "storage_account":
			e.account = v
		case "localemu":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return endpoint{}, fmt.Errorf("query parameter localemu=%q: want true or false: %w", v, errInvalid)
			}
			e.localEmu = b
		}
		e.explicit = ""
	}
	return e, nil
}

// credential is how a bucket's requests are authorized.
type credential struct {
	account, key string // Shared Key
	sas          string // a SAS query string
	entra        bool   // Microsoft Entra tokens from azidentity's default chain
}

// token reports whether the credential sends a bearer secret with every
// request (a SAS or an Entra token), which must only go to the endpoint
// the environment names, and only over https.
func (c credential) token() bool { return c.sas != "" || c.entra }

// credentialFromEnv picks the credential source from the environment, in
// the order gocloud's azureblob uses: account key, SAS token, connection
// string, then Microsoft Entra ID (azidentity's DefaultAzureCredential:
// client secret or certificate, workload identity, managed identity,
// Azure CLI, Azure Developer CLI).
func credentialFromEnv(g env, account string, cs *connString) (credential, error) {
	key, sas := g("AZURE_STORAGE_KEY"), g("AZURE_STORAGE_SAS_TOKEN")
	switch {
	case account != "" && key != "":
		return credential{account: account, key: key}, nil
	case sas != "":
		return credential{sas: sas}, checkSAS(sas)
	case cs != nil && cs.key != "":
		return credential{account: cs.account, key: cs.key}, nil
	case cs != nil:
		return credential{sas: cs.sas}, checkSAS(cs.sas)
	}
	return credential{entra: true}, nil
}

// checkSAS refuses a SAS token that cannot authorize anything, naming
// neither it nor its signature.
func checkSAS(sas string) error {
	q, err := url.ParseQuery(strings.TrimPrefix(sas, "?"))
	if err != nil || q.Get("sig") == "" {
		return fmt.Errorf("the SAS token is not a query string with a signature (sig=): %w", errInvalid)
	}
	return nil
}

// connStringFromEnv parses AZURE_STORAGE_CONNECTION_STRING (or the older
// AZURE_STORAGEBLOB_CONNECTIONSTRING), or returns nil.
func connStringFromEnv(g env) (*connString, error) {
	s := g("AZURE_STORAGE_CONNECTION_STRING")
	if s == "" {
		s = g("AZURE_STORAGEBLOB_CONNECTIONSTRING")
	}
	if s == "" {
		return nil, nil
	}
	c, err := parseConnString(s)
	if err != nil {
		return nil, fmt.Errorf("AZURE_STORAGE_CONNECTION_STRING: %w", err)
	}
	return &c, nil
}
