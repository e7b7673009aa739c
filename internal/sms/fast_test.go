package sms

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// The fast path may only accept what the parser accepts, with the same result.
func checkFast(t *testing.T, s string) {
	t.Helper()
	fast, ok := fastE164(s)
	if !ok {
		return
	}
	// The parser reads a number with its country code alike whatever the default region.
	for _, region := range []string{"", "GB"} {
		slow, reason := slowPossible(s, region)
		if reason != "" || slow != fast {
			t.Fatalf("%q: fast path says %q, the parser (region %q) %q (%s)", s, fast, region, slow, reason)
		}
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

// Every calling code, numbers of every E.164 length, some starting with what a national prefix
// looks like: the fast path reads each code's metadata, so each code is tried.
func TestFastPathAgreesWithTheParserForEveryCallingCode(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fast := 0
	for cc := range callingCodes {
		if !callingCodes[cc].known {
			continue
		}
		code := strconv.Itoa(cc)
		for k := range 400 {
			b := []byte("+" + code)
			n := minE164Digits + r.IntN(maxE164Digits-minE164Digits+1) - len(code)
			for i := range n {
				d := r.IntN(10)
				if i == 0 && k%4 == 0 {
					d = r.IntN(2) * 8 // 0 and 8 are national prefixes (+7 8…)
				}
				b = strconv.AppendInt(b, int64(d), 10)
			}
			checkFast(t, string(b))
			if _, ok := fastE164(string(b)); ok {
				fast++
			}
		}
	}
	if fast == 0 {
		t.Fatal("the fast path accepted no number at all")
	}
}

// The fast path stops at the first prefix it knows as a calling code; the parser stops at the
// first it has in its table. A code the parser knew without a region would make them differ.
func TestCallingCodesTheParserKnowsHaveARegion(t *testing.T) {
	for cc := 1; cc < len(callingCodes); cc++ {
		num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(12345678)}
		valid := phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.INVALID_COUNTRY_CODE
		if valid != callingCodes[cc].known {
			t.Errorf("calling code %d: parser knows it %v, fast path %v", cc, valid, callingCodes[cc].known)
		}
	}
}

// Mobile numbers of countries we send to take the fast path (otherwise it saves nothing).
func TestFastPathTakesCommonMobileNumbers(t *testing.T) {
	for _, s := range []string{"+15551234567", "+447700900123", "+33612345678", "+4915123456789",
		"+46701234567", "+79161234567", "+8613912345678", "+919876543210", "+5511987654321", "+61412345678"} {
		if _, ok := fastE164(s); !ok {
			t.Errorf("%s takes the parser's path", s)
		}
	}
}

func FuzzFastPath(f *testing.F) {
	f.Add("+15551234567")
	f.Add("+3906123")
	f.Fuzz(func(t *testing.T, s string) { checkFast(t, s) })
}
