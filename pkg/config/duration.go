package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is 24 hours, the unit of ParseDuration's d suffix.
const Day = 24 * time.Hour

// ParseDuration reads a duration in Go's syntax (90s, 30m, 4h, 1h30m) or in whole days
// (30d), the form thresholds of days are naturally written in.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number of days such as 30d: %w", s, err)
		}
		if days > int(time.Duration(1<<63-1)/Day) || days < -int(time.Duration(1<<63-1)/Day) {
			return 0, fmt.Errorf("%q is too long a duration", s)
		}
		return time.Duration(days) * Day, nil
	}
	return time.ParseDuration(s)
}
