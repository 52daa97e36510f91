package schedule

import (
	_ "time/tzdata" // the zones must resolve wherever the test runs

	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

func TestNextFollowsTheTimeZone(t *testing.T) {
	s, err := Parse("0 2 * * *", ptr("Europe/Berlin"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	want := time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC) // 02:00 CEST
	if got := s.Next(now); !got.Equal(want) {
		t.Fatalf("Next = %v, want %v", got.UTC(), want)
	}
}

func TestDescriptorsAndEveryMinute(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 30, 15, 0, time.UTC)
	for expr, want := range map[string]time.Time{
		"@hourly":   time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC),
		"* * * * *": time.Date(2026, 1, 1, 10, 31, 0, 0, time.UTC),
	} {
		s, err := Parse(expr, ptr("UTC"))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(now); !got.Equal(want) {
			t.Errorf("%s: Next = %v, want %v", expr, got, want)
		}
	}
}

func TestParseErrorsSayWhatToFix(t *testing.T) {
	for _, c := range []struct {
		expr string
		tz   *string
		want string
	}{
		{"every day", nil, "five fields"},
		{"0 2 * * * *", nil, "five fields"},
		{"TZ=UTC 0 2 * * *", nil, "scheduler.timeZone"},
		{"0 2 * * *", ptr("Mars/Olympus"), "IANA time zone"},
	} {
		if _, err := Parse(c.expr, c.tz); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", c.expr, err, c.want)
		}
	}
}
