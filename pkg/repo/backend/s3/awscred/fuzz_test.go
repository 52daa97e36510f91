package awscred

import (
	"strings"
	"testing"
)

// The decoders below read what STS, a container endpoint, IMDS or a
// hand-edited file holds: none may panic, and what they accept is usable.

func FuzzDecodeSTS(f *testing.F) {
	f.Add([]byte(`<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA</AccessKeyId>` +
		`<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeSTS(data)
		if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || c.Expires.IsZero()) {
			t.Fatalf("accepted incomplete credentials from %q", data)
		}
	})
}

func FuzzDecodeSTSError(f *testing.F) {
	f.Add([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>expired</Message></Error></ErrorResponse>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		code, msg := DecodeSTSError(data)
		if len(code) > 64 || len(msg) > 300 || strings.ContainsAny(code+msg, "\r\n\x1b") {
			t.Fatalf("unsafe %q / %q", code, msg)
		}
	})
}

func FuzzDecodeJSONCreds(f *testing.F) {
	f.Add([]byte(`{"Code":"Success","AccessKeyId":"ASIA","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-02T03:04:05Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeJSONCreds(data)
		if err == nil && (c.AccessKeyID == "" || c.SecretAccessKey == "" || (c.SessionToken != "" && c.Expires.IsZero())) {
			t.Fatalf("accepted unusable credentials from %q", data)
		}
	})
}

func FuzzParseINI(f *testing.F) {
	f.Add([]byte("[default]\naws_access_key_id = A\n# c\n[profile x]\ns3 =\n  addressing_style = path\nregion=eu-west-1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sections, err := ParseINI(data)
		if err != nil {
			return
		}
		for name, kv := range sections {
			if name == "" || strings.ContainsAny(name, "\n") {
				t.Fatalf("section %q", name)
			}
			for k := range kv {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("key %q", k)
				}
			}
		}
	})
}
