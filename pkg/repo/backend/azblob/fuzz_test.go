package azblob

import "testing"

// A connection string comes from the environment: parsing any string must
// not panic, and what it accepts must be consistent.
func FuzzConnString(f *testing.F) {
	f.Add("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5PT0=;EndpointSuffix=core.windows.net")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseConnString(s)
		if err != nil {
			return
		}
		if (c.key == "" && c.sas == "") || (c.key != "" && c.account == "") || (c.protocol != "" && c.protocol != "http" && c.protocol != "https") {
			t.Fatalf("accepted inconsistent %+v", c)
		}
	})
}
