package sms

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// The fast path may only accept what the parser accepts, with the same result.
func checkFast(t *testing.T, s string) {
	t.Helper()
	fast, ok := fastE164(s)
	if !ok {
		return
	}
	slow, reason := slowPossible(s, "")
	if reason != "" || slow != fast {
		t.Fatalf("%q: fast path says %q, the parser %q (%s)", s, fast, slow, reason)
	}
}

func TestFastPathAgreesWithTheParser(t *testing.T) {
	for _, s := range []string{"+15551234567", "+447700900123", "+33612345678", "+4915123456789", "+861012345678",
		"+390612345678", "+3512", "+12", "+999123456789", "+8801712345678", "+2348012345678", "+6281234567890"} {
		checkFast(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for k := range 200_000 {
		n := 7 + r.IntN(9)
		b := []byte("+")
		if k%2 == 0 {
			n, b = 10, []byte("+1") // the fast path's own ground
		}
		for i := range n {
			d := r.IntN(10)
			if i == 0 && d == 0 {
				d = 1
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		checkFast(t, string(b))
	}
}

func FuzzFastPath(f *testing.F) {
	f.Add("+15551234567")
	f.Add("+3906123")
	f.Fuzz(func(t *testing.T, s string) { checkFast(t, s) })
}
