// Package schedule reads a session's cron schedule and time zone the way
// the Kubernetes CronJob controller does (robfig/cron's standard parser:
// five fields or a descriptor such as @daily; time zones from the IANA
// database embedded in the binary), so the nextSchedule the operator
// reports is the time the trigger CronJob will really fire.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a parsed cron expression in a time zone.
type Schedule struct {
	cron cron.Schedule
	loc  *time.Location
}

// Parse checks a schedule and an optional IANA time zone. Its errors name
// the field and say what a valid value looks like.
func Parse(expr string, timeZone *string) (*Schedule, error) {
	if strings.Contains(expr, "TZ=") {
		return nil, fmt.Errorf("schedule %q: TZ= and CRON_TZ= are not allowed in the schedule; set scheduler.timeZone instead", expr)
	}
	c, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q is not a cron expression (%v); use five fields such as \"0 2 * * *\" or a descriptor such as @daily", expr, err)
	}
	loc := time.Local
	if timeZone != nil && *timeZone != "" {
		if loc, err = time.LoadLocation(*timeZone); err != nil {
			return nil, fmt.Errorf("timeZone %q is not an IANA time zone name such as Europe/Berlin or UTC", *timeZone)
		}
	}
	return &Schedule{cron: c, loc: loc}, nil
}

// Next returns the first run strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	return s.cron.Next(t.In(s.loc))
}
