package v1alpha1

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestParseRetentionPeriod(t *testing.T) {
	ok := map[string]time.Duration{
		"":       0,
		"30d":    30 * day,
		"1y6mo":  365*day + 180*day,
		"2w":     14 * day,
		"12h30m": 12*time.Hour + 30*time.Minute,
		"1mo":    30 * day,
		"1d1d":   2 * day,
		"0d":     0,
		"200y":   200 * 365 * day,
	}
	for in, want := range ok {
		got, err := ParseRetentionPeriod(in)
		if err != nil || got != want {
			t.Errorf("ParseRetentionPeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"30":                    "unknown or missing unit",
		"d":                     "expected a number",
		"5s":                    "unknown or missing unit",
		"1y-1d":                 "expected a number",
		"99999999999999999999d": "too large",
		"9999999999y":           "too long",
		"3M":                    "unknown or missing unit",
		"1m1mo1x":               "unknown or missing unit",
	}
	for in, want := range bad {
		_, err := ParseRetentionPeriod(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRetentionPeriod(%q) error = %v, want one containing %q", in, err, want)
		}
	}
}

// The CRD's OpenAPI pattern and the parser must agree, or the API server
// would accept values the operator then rejects.
func TestRetentionPatternMatchesParser(t *testing.T) {
	pattern := regexp.MustCompile(`^([0-9]+(y|mo|w|d|h|m))+$`)
	for _, s := range []string{"30d", "1y6mo", "5s", "d", "1mo2w", "12", "1m", "1y1y"} {
		_, err := ParseRetentionPeriod(s)
		if pattern.MatchString(s) != (err == nil) {
			t.Errorf("%q: pattern match %v but parser error %v", s, pattern.MatchString(s), err)
		}
	}
}

func TestRetentionPolicySpecValidate(t *testing.T) {
	neg, two := int32(-1), int32(2)
	cases := []struct {
		name string
		spec RetentionPolicySpec
		want string
	}{
		{"empty keeps everything", RetentionPolicySpec{}, ""},
		{"good", RetentionPolicySpec{MaxRetentionPeriod: "30d", SuccessfulSnapshots: &SuccessfulSnapshotsKeepPolicy{Last: &two}}, ""},
		{"bad period", RetentionPolicySpec{MaxRetentionPeriod: "30 days"}, "unknown or missing unit"},
		{"negative count", RetentionPolicySpec{SuccessfulSnapshots: &SuccessfulSnapshotsKeepPolicy{Daily: &neg}}, "successfulSnapshots.daily is -1"},
		{"negative failed count", RetentionPolicySpec{FailedSnapshots: &FailedSnapshotsKeepPolicy{Last: &neg}}, "failedSnapshots.last"},
	}
	for _, c := range cases {
		err := c.spec.Validate()
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: Validate() = %v, want %q", c.name, err, c.want)
		}
	}
}
