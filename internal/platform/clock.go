package platform

import (
	"time"
)

// Clock tells the time; tests use a clocktest.Clock to control it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real UTC clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
