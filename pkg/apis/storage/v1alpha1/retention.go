package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// retentionUnits are the units MaxRetentionPeriod accepts. Months and years
// are fixed lengths (30 and 365 days): a retention period is a bound on age,
// not a calendar computation.
var retentionUnits = map[string]time.Duration{
	"y":  365 * 24 * time.Hour,
	"mo": 30 * 24 * time.Hour,
	"w":  7 * 24 * time.Hour,
	"d":  24 * time.Hour,
	"h":  time.Hour,
	"m":  time.Minute,
}

// ParseRetentionPeriod parses a MaxRetentionPeriod such as "30d" or "1y6mo".
// The empty string means "no limit" and returns 0. The error says which part
// is wrong and what the valid units are.
func ParseRetentionPeriod(s string) (time.Duration, error) {
	var total time.Duration
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("maxRetentionPeriod %q: expected a number at offset %d; write terms like 30d or 1y6mo (units y, mo, w, d, h, m)", s, i)
		}
		n, err := strconv.ParseInt(s[i:j], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("maxRetentionPeriod %q: number %q is too large", s, s[i:j])
		}
		unit, width := "", 0
		switch {
		case j+1 < len(s) && s[j:j+2] == "mo":
			unit, width = "mo", 2
		case j < len(s):
			unit, width = s[j:j+1], 1
		}
		d, ok := retentionUnits[unit]
		if !ok {
			return 0, fmt.Errorf("maxRetentionPeriod %q: unknown or missing unit after %s; use y, mo, w, d, h or m", s, s[i:j])
		}
		if n > int64(math.MaxInt64/d) || total > math.MaxInt64-time.Duration(n)*d {
			return 0, fmt.Errorf("maxRetentionPeriod %q is too long", s)
		}
		total += time.Duration(n) * d
		i = j + width
	}
	return total, nil
}

// Validate checks what the CRD schema cannot: the period's format and that
// no count is negative. The error names the field and how to fix it.
func (s *RetentionPolicySpec) Validate() error {
	if _, err := ParseRetentionPeriod(s.MaxRetentionPeriod); err != nil {
		return err
	}
	check := func(field string, v *int32) error {
		if v != nil && *v < 0 {
			return fmt.Errorf("%s is %d: a count of snapshots to keep must be 0 or more", field, *v)
		}
		return nil
	}
	if k := s.SuccessfulSnapshots; k != nil {
		for _, f := range []struct {
			name string
			v    *int32
		}{{"successfulSnapshots.last", k.Last}, {"successfulSnapshots.hourly", k.Hourly}, {"successfulSnapshots.daily", k.Daily},
			{"successfulSnapshots.weekly", k.Weekly}, {"successfulSnapshots.monthly", k.Monthly}, {"successfulSnapshots.yearly", k.Yearly}} {
			if err := check(f.name, f.v); err != nil {
				return err
			}
		}
	}
	if k := s.FailedSnapshots; k != nil {
		if err := check("failedSnapshots.last", k.Last); err != nil {
			return err
		}
	}
	return nil
}
