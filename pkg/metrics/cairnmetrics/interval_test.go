package cairnmetrics

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"
)

func TestScheduleInterval(t *testing.T) {
	for _, c := range []struct {
		expr     string
		tz       *string
		min, max time.Duration
	}{
		{expr: "*/5 * * * *", min: 5 * time.Minute, max: 5 * time.Minute},
		{expr: "@daily", min: day, max: day},
		{expr: "0 3 * * *", tz: ptr.To("Europe/Berlin"), min: day, max: day + time.Hour}, // no DST change in December
		// Weekdays only: the longest gap is over the weekend.
		{expr: "0 2 * * 1-5", min: 3 * day, max: 3 * day},
		// Twice a year and yearly: two gaps at least, however far.
		{expr: "0 0 1 1,7 *", min: 184 * day, max: 184 * day},
		{expr: "0 3 1 1 *", min: 365 * day, max: 366 * day},
	} {
		got, ok := scheduleInterval(c.expr, c.tz, now)
		if !ok || got < c.min || got > c.max {
			t.Errorf("scheduleInterval(%q) = %v, %v; want %v..%v", c.expr, got, ok, c.min, c.max)
		}
	}
	if d, ok := scheduleInterval("not cron", nil, now); ok {
		t.Errorf("an invalid schedule gave %v", d)
	}
	if d, ok := scheduleInterval("0 3 30 2 *", nil, now); ok { // February 30th never comes
		t.Errorf("a schedule that never fires gave %v", d)
	}
}

func TestIntervalCacheReusesAndExpires(t *testing.T) {
	c := newIntervalCache()
	if d, ok := c.interval("@hourly", nil, now); !ok || d != time.Hour {
		t.Fatalf("@hourly = %v, %v", d, ok)
	}
	c.entries["@hourly\x00"] = intervalEntry{d: time.Minute, ok: true, until: now.Add(time.Hour)}
	if d, _ := c.interval("@hourly", nil, now); d != time.Minute {
		t.Fatalf("a cached entry was not reused: %v", d)
	}
	if d, _ := c.interval("@hourly", nil, now.Add(2*time.Hour)); d != time.Hour {
		t.Fatalf("an expired entry was reused: %v", d)
	}
	if _, ok := c.entries["@hourly\x00UTC"]; ok {
		t.Fatal("time zones must not share entries")
	}
	c.interval("@hourly", ptr.To("UTC"), now)
	if len(c.entries) != 2 {
		t.Fatalf("entries = %d, want one per schedule and time zone", len(c.entries))
	}
}
