package cairnmetrics

import (
	"sync"
	"time"

	"github.com/cairnbackup/cairn/pkg/schedule"
)

const (
	// intervalHorizon is how far ahead the gaps between runs are measured:
	// beyond a week, so a weekdays-only schedule reports its weekend gap.
	intervalHorizon = 8 * 24 * time.Hour
	// intervalMaxRuns bounds the work for a very frequent schedule (an
	// every-minute schedule has 11,520 runs in 8 days).
	intervalMaxRuns = 20000
	// intervalTTL is how long a computed interval is reused (month lengths
	// and daylight saving time move it a little).
	intervalTTL = 24 * time.Hour
	// intervalCacheMax bounds the cache; it holds one entry per distinct
	// schedule and time zone, so this is rarely reached.
	intervalCacheMax = 4096
)

// scheduleInterval is the longest gap between consecutive runs of a cron
// schedule from now over intervalHorizon, and at least two gaps (a monthly
// or yearly schedule). It is false for a schedule that does not parse.
func scheduleInterval(expr string, timeZone *string, now time.Time) (time.Duration, bool) {
	s, err := schedule.Parse(expr, timeZone)
	if err != nil {
		return 0, false
	}
	var longest time.Duration
	t := s.Next(now)
	for runs, gaps := 0, 0; runs < intervalMaxRuns && (t.Sub(now) < intervalHorizon || gaps < 2); runs++ {
		n := s.Next(t)
		if n.IsZero() || !n.After(t) {
			break
		}
		if d := n.Sub(t); d > longest {
			longest = d
		}
		t = n
		gaps++
	}
	return longest, longest > 0
}

// intervalCache remembers scheduleInterval per schedule and time zone, so a
// scrape of a thousand configurations parses each distinct schedule once a day.
type intervalCache struct {
	mu      sync.Mutex
	entries map[string]intervalEntry
}

type intervalEntry struct {
	d     time.Duration
	ok    bool
	until time.Time
}

func newIntervalCache() *intervalCache { return &intervalCache{entries: map[string]intervalEntry{}} }

func (c *intervalCache) interval(expr string, timeZone *string, now time.Time) (time.Duration, bool) {
	key := expr + "\x00"
	if timeZone != nil {
		key += *timeZone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && now.Before(e.until) {
		return e.d, e.ok
	}
	if len(c.entries) >= intervalCacheMax {
		clear(c.entries)
	}
	d, ok := scheduleInterval(expr, timeZone, now)
	c.entries[key] = intervalEntry{d: d, ok: ok, until: now.Add(intervalTTL)}
	return d, ok
}
