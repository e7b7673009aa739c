package provider

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zone names read anywhere: containers often have no zone data
)

// TimeFormat is how a provider writes its timestamps. The zero value is RFC 3339 (fractional
// seconds optional), the neutral shape's; aggregators also write local times without a zone
// ("2024-05-01 10:20:30") or unix seconds, which ParseTimeFormat names.
type TimeFormat struct {
	layout string        // a Go reference layout; "" with unit 0 is RFC 3339
	unit   time.Duration // time.Second or time.Millisecond for unix times
	loc    *time.Location
}

// The named formats ParseTimeFormat takes besides Go reference layouts.
const (
	TimeRFC3339  = "rfc3339"
	TimeUnix     = "unix"
	TimeUnixMS   = "unix_ms"
	TimeDateTime = "datetime" // "2006-01-02 15:04:05", in the zone given
)

// ParseTimeFormat reads a configured format: "rfc3339" (or ""), "unix", "unix_ms", "datetime",
// or a Go reference layout ("02/01/2006 15:04"). loc is where times written without an offset
// are (ParseZone); nil is UTC.
func ParseTimeFormat(format string, loc *time.Location) (TimeFormat, error) {
	switch format {
	case "", TimeRFC3339:
		return TimeFormat{loc: loc}, nil
	case TimeUnix:
		return TimeFormat{unit: time.Second, loc: loc}, nil
	case TimeUnixMS:
		return TimeFormat{unit: time.Millisecond, loc: loc}, nil
	case TimeDateTime:
		return TimeFormat{layout: time.DateTime, loc: loc}, nil
	}
	if !strings.Contains(format, "2006") {
		return TimeFormat{}, fmt.Errorf("%q is not rfc3339, unix, unix_ms, datetime or a Go layout with the year written 2006", format)
	}
	// A layout that cannot read what it writes would refuse every timestamp: refuse it now.
	ref := time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC).Format(format)
	if _, err := time.Parse(format, ref); err != nil {
		return TimeFormat{}, fmt.Errorf("the layout %q cannot be read back: %v", format, err)
	}
	return TimeFormat{layout: format, loc: loc}, nil
}

// ParseZone reads a zone: "" or "UTC" (nil), a fixed offset ("+05:30"), or an IANA name
// ("Asia/Kolkata"; the zone data is in the binary).
func ParseZone(zone string) (*time.Location, error) {
	switch {
	case zone == "" || strings.EqualFold(zone, "UTC"):
		return nil, nil
	case zone[0] == '+' || zone[0] == '-':
		t, err := time.Parse("-07:00", zone)
		if err != nil {
			return nil, fmt.Errorf("the offset %q is not written like +05:30", zone)
		}
		_, off := t.Zone()
		return time.FixedZone(zone, off), nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("the zone %q is not UTC, an offset like +05:30 or a zone name like Asia/Kolkata", zone)
	}
	return loc, nil
}

// maxUnixSeconds is the last second of the year 9999.
const maxUnixSeconds = 253402300799

// Zoned reports whether the format reads times written without an offset, to which a zone
// applies (datetime and layouts); RFC 3339 and unix times carry their own.
func (tf TimeFormat) Zoned() bool { return tf.layout != "" }

// rfc3339 reports whether the format is the default, read by Fields.Time.
func (tf TimeFormat) rfc3339() bool { return tf.layout == "" && tf.unit == 0 }

// describe says what a timestamp must look like, for errors.
func (tf TimeFormat) describe() string {
	switch {
	case tf.unit == time.Second:
		return "must be unix seconds"
	case tf.unit == time.Millisecond:
		return "must be unix milliseconds"
	case tf.layout != "":
		return "must be written like " + strconv.Quote(time.Date(2024, 5, 1, 10, 20, 30, 0, time.UTC).Format(tf.layout))
	}
	return "must be an RFC 3339 timestamp"
}

// TimeAs is Time for a provider's own format: an optional timestamp in UTC and its text as sent.
// Unix times may come as JSON numbers or strings of digits.
func (f Fields) TimeAs(name string, tf TimeFormat) (t time.Time, raw string, err error) {
	if tf.rfc3339() {
		return f.Time(name)
	}
	if raw, err = f.TextOrInt(name, 64); err != nil || raw == "" {
		return time.Time{}, "", err
	}
	bad := &FieldError{Field: name, Reason: tf.describe()}
	if tf.unit != 0 {
		n, err := strconv.ParseInt(raw, 10, 64)
		perSecond := int64(time.Second / tf.unit)
		// Years 1970 to 9999: a negative or larger number is a wrong field, not a date.
		if err != nil || n < 0 || n > maxUnixSeconds*perSecond {
			return time.Time{}, "", bad
		}
		return time.Unix(n/perSecond, n%perSecond*int64(tf.unit)).UTC(), raw, nil
	}
	loc := tf.loc
	if loc == nil {
		loc = time.UTC
	}
	if t, err = time.ParseInLocation(tf.layout, raw, loc); err != nil {
		return time.Time{}, "", bad
	}
	return t.UTC(), raw, nil
}
