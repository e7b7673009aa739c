package pdu

import (
	"fmt"
	"strconv"
	"time"
)

// ParseTime reads an SMPP time field (schedule_delivery_time, validity_period; SMPP 3.4,
// 7.1.1): "" is none (the zero time, no error); "YYMMDDhhmmsstnnp" is an absolute time, t
// tenths of a second and nn quarter hours ahead of (p '+') or behind ('-') UTC; p 'R' makes it
// relative, YY years, MM months... from now.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	bad := fmt.Errorf("smpp: %q is not an SMPP time (YYMMDDhhmmsstnn followed by +, - or R)", s)
	if len(s) != 16 {
		return time.Time{}, bad
	}
	for i := range 15 {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, bad
		}
	}
	n := func(i, w int) int { v, _ := strconv.Atoi(s[i : i+w]); return v }
	yy, mo, dd, hh, mi, ss := n(0, 2), n(2, 2), n(4, 2), n(6, 2), n(8, 2), n(10, 2)
	switch s[15] {
	case 'R':
		return now.AddDate(yy, mo, dd).Add(time.Duration(hh)*time.Hour + time.Duration(mi)*time.Minute +
			time.Duration(ss)*time.Second), nil
	case '+', '-':
	default:
		return time.Time{}, bad
	}
	quarters := n(13, 2)
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || quarters > 48 {
		return time.Time{}, bad
	}
	t := time.Date(2000+yy, time.Month(mo), dd, hh, mi, ss, n(12, 1)*int(100*time.Millisecond), time.UTC)
	if t.Day() != dd {
		return time.Time{}, bad // 31 February
	}
	off := time.Duration(quarters) * 15 * time.Minute
	if s[15] == '+' {
		return t.Add(-off), nil
	}
	return t.Add(off), nil
}
