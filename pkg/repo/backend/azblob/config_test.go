package azblob

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// mapEnv is an environment made of m.
func mapEnv(m map[string]string) env { return func(k string) string { return m[k] } }

func resolveURL(g env, raw string, keys *Keys) (string, credential, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", credential{}, err
	}
	return resolve(g, u, keys)
}

// Addressing: account subdomains, the emulator's path style, and URL
// parameters checked against the accepted set.
func TestServiceURL(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("k"))
	for _, tc := range []struct {
		env  map[string]string
		url  string
		want string
	}{
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"}, "azblob://box", "https://acct.blob.core.windows.net"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_DOMAIN": "blob.core.usgovcloudapi.net"}, "azblob://box", "https://acct.blob.core.usgovcloudapi.net"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true", "AZURE_STORAGE_DOMAIN": "azurite:10000", "AZURE_STORAGE_PROTOCOL": "http"}, "azblob://box", "http://azurite:10000/acct"},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct"}, "azblob://box?domain=localhost:10000&protocol=http&storage_account=other", "http://localhost:10000/other"},
	} {
		tc.env["AZURE_STORAGE_KEY"] = key
		svc, cred, err := resolveURL(mapEnv(tc.env), tc.url, nil)
		if err != nil || svc != tc.want || cred.key != key {
			t.Errorf("%v %s: %s %v, want %s with the key", tc.env, tc.url, svc, err, tc.want)
		}
	}
	withKey := mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": key})
	for raw, want := range map[string]string{
		"azblob://box?region=x":            "domain, localemu, protocol and storage_account",
		"azblob://box?cdn=true":            "CDN",
		"azblob://box?localemu=maybe":      "true or false",
		"azblob://box?protocol=ftp":        "http or https",
		"azblob://box?storage_account=A_B": "3-24 lower-case",
	} {
		if _, _, err := resolveURL(withKey, raw, nil); !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", raw, err, want)
		}
	}
	if _, _, err := resolveURL(mapEnv(map[string]string{"AZURE_CLIENT_ID": "x"}), "azblob://box", nil); err == nil || !strings.Contains(err.Error(), "storage_account") {
		t.Errorf("no account: %v", err)
	}
}

// Credentials in gocloud's order, then Microsoft Entra; a token from the
// environment is never sent to a host the URL picks, nor over plain http
// off this machine.
func TestCredentialOrder(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("k=="))
	for _, tc := range []struct {
		env  map[string]string
		want credential
	}{
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_KEY": key, "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=x"}, credential{account: "acct", key: key}},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "?sv=1&sig=x"}, credential{sas: "?sv=1&sig=x"}},
		{map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "AccountName=acct;AccountKey=" + key}, credential{account: "acct", key: key}},
		{map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_CLIENT_ID": "id"}, credential{entra: true}},
	} {
		if _, got, err := resolveURL(mapEnv(tc.env), "azblob://box", nil); err != nil || got != tc.want {
			t.Errorf("%v: %+v %v, want %+v", tc.env, got, err, tc.want)
		}
	}
	sas := mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=c2VjcmV0"})
	if _, _, err := resolveURL(sas, "azblob://box?domain=evil.example", nil); !errors.Is(err, errInvalid) || !strings.Contains(err.Error(), "cannot change the service endpoint") {
		t.Errorf("SAS sent elsewhere: %v", err)
	}
	plain := mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=x", "AZURE_STORAGE_DOMAIN": "example.com", "AZURE_STORAGE_PROTOCOL": "http"})
	if _, _, err := resolveURL(plain, "azblob://box", nil); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("SAS over plain http: %v", err)
	}
	nosig := mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=2022&sp=r"})
	if _, _, err := resolveURL(nosig, "azblob://box", nil); !errors.Is(err, errInvalid) {
		t.Errorf("SAS without a signature: %v", err)
	}
}

// Explicit keys replace every credential of the environment, which still
// gives the addressing; the URL may address the service (the keys come
// with it, not from the environment).
func TestExplicitKeys(t *testing.T) {
	g := mapEnv(map[string]string{"AZURE_STORAGE_ACCOUNT": "envacct", "AZURE_STORAGE_KEY": "ZW52", "AZURE_STORAGE_DOMAIN": "blob.core.chinacloudapi.cn"})
	svc, cred, err := resolveURL(g, "azblob://box", &Keys{Account: "acct", Key: "a2V5"})
	if err != nil || svc != "https://acct.blob.core.chinacloudapi.cn" || cred != (credential{account: "acct", key: "a2V5"}) {
		t.Errorf("explicit key: %s %+v %v", svc, cred, err)
	}
	svc, cred, err = resolveURL(g, "azblob://box?domain=127.0.0.1:10000&protocol=http", &Keys{Account: "acct", SASToken: "sv=1&sig=x"})
	if err != nil || svc != "http://127.0.0.1:10000/acct" || cred != (credential{sas: "sv=1&sig=x"}) {
		t.Errorf("explicit SAS: %s %+v %v", svc, cred, err)
	}
}

// Connection strings in their usual forms; errors never quote a value.
func TestConnectionString(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("k=="))
	c, err := parseConnString("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.chinacloudapi.cn")
	if err != nil || c.account != "acct" || c.key != key || c.suffix != "core.chinacloudapi.cn" || c.protocol != "https" {
		t.Errorf("account key form: %+v %v", c, err)
	}
	c, err = parseConnString("BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig=abc%3D")
	if err != nil || c.blobEndpoint != "https://acct.blob.core.windows.net" || c.sas != "sv=2022&sig=abc%3D" {
		t.Errorf("SAS form: %+v %v", c, err)
	}
	if c, err = parseConnString("UseDevelopmentStorage=true"); err != nil || c.account != devStorageAccount {
		t.Errorf("development storage: %+v %v", c, err)
	}
	for _, bad := range []string{"AccountName=a", "AccountKey=secretvalue", "Bogus=secretvalue;AccountKey=x;AccountName=a", "novalue", "DefaultEndpointsProtocol=ftp;AccountKey=x;AccountName=a"} {
		if _, err := parseConnString(bad); err == nil || strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	svc, _, err := resolveURL(mapEnv(map[string]string{"AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=" + key + ";BlobEndpoint=http://127.0.0.1:10000/acct"}), "azblob://box", nil)
	if err != nil || svc != "http://127.0.0.1:10000/acct" {
		t.Errorf("connection string's endpoint: %s %v", svc, err)
	}
}
