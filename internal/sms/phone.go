// Package sms holds the pure text rules of the SMS channel: phone number normalisation, and
// (elsewhere in the package) encoding detection and segment counting.
package sms

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// ErrInvalidPhone is wrapped by every normalisation error, so callers can test for it with
// errors.Is while the message still says what exactly was wrong.
var ErrInvalidPhone = errors.New("invalid phone number")

// E.164 allows at most 15 digits. The shortest numbers in service (Niue, Saint Helena) have 7
// with their country code; fewer cannot be a subscriber anywhere.
const (
	minE164Digits = 7
	maxE164Digits = 15
)

// maxRawLen bounds the input before the parser sees it: no formatted number is this long, and
// outside input should not decide how much work we do.
const maxRawLen = 64

// Short codes are 3 to 8 digits in the countries we know of (US/CA 5–6, UK 5, FR 5, DE 4–8).
const (
	minShortCode = 3
	maxShortCode = 8
)

// NormalizeE164 turns a phone number as people and providers write it into E.164 ("+<digits>").
// region (ISO 3166 "US", "GB"...) is assumed for numbers written without a country code. A
// number with no "+" that is not possible in region is retried as international, because
// providers often send "447700900123" meaning +44.
//
// It checks possibility (length and shape) and not validity: validity depends on carrier
// metadata that lags real number allocation, and rejecting a real customer's reply is worse
// than storing a number nobody will ever use.
func NormalizeE164(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if err := checkPhoneText(s); err != nil {
		return "", err
	}
	international := strings.HasPrefix(s, "+")
	digits := digitsOf(s)
	if !international && strings.HasPrefix(s, "00") {
		// "00" is the international prefix almost everywhere, but the parser only strips it
		// when the default region dials out with it (the US uses 011).
		s, digits, international = "+"+digits[2:], digits[2:], true
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	e164, reason := parsePossible(s, region)
	if reason == "" {
		return e164, nil
	}
	if !international {
		if e164, again := parsePossible("+"+digits, ""); again == "" {
			return e164, nil
		}
	}
	return "", invalid(reason)
}

// NormalizeAddress normalises a number Ibiki receives on: an E.164 number as NormalizeE164
// does, or a short code, returned as its plain digits ("57675") because short codes have no
// country code and must not be dressed up as one.
func NormalizeAddress(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) >= minShortCode && len(s) <= maxShortCode && digitsOf(s) == s {
		return s, nil
	}
	return NormalizeE164(raw, region)
}

// checkPhoneText rejects what the parser would otherwise be too lenient with: it converts
// letters (vanity numbers such as 1-800-FLOWERS), reads extensions and "tel:" URIs, and skips
// leading junk. None of that belongs in a number we store and send to.
func checkPhoneText(s string) error {
	switch {
	case s == "":
		return invalid("empty")
	case len(s) > maxRawLen:
		return invalid("too long")
	case strings.Contains(s, ":"):
		// "whatsapp:+1555..." names a channel; the adapter decides the channel, not this function.
		return invalid("has a channel or scheme prefix")
	}
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', strings.ContainsRune(" -().", r):
		case r == '+' && i == 0:
		case unicode.IsLetter(r):
			return invalid("contains letters")
		default:
			return invalid(fmt.Sprintf("unexpected character %q", r))
		}
	}
	if len(digitsOf(s)) < minShortCode {
		return invalid("too short")
	}
	return nil
}

// parsePossible parses s and returns its E.164 form, or a reason why it is not a possible
// number. Numbers that are only dialable locally (no area code) are refused: the E.164 form
// would be missing digits.
func parsePossible(s, region string) (e164, reason string) {
	if e, ok := fastE164(s); ok {
		return e, ""
	}
	return slowPossible(s, region)
}

// fastE164 accepts a number already written in E.164 ("+" and digits only) without the full
// parser, whose extension, punctuation and international-prefix handling is most of the cost of
// a send, an inbound message or an import row. It does what the parser does with such a string:
// the country code is the shortest prefix that is a known calling code, and the rest is the
// national number unless the country's national prefix could be stripped from it (+86 1…, +7 8…:
// the parser's rules then apply even after a country code), which the fast path leaves to the
// parser, as it leaves national numbers with leading zeros (Italy). The metadata says whether the
// length is possible. It only ever says yes when the parser would, with the same answer (tested).
func fastE164(s string) (string, bool) {
	if len(s) < 1+minE164Digits || len(s) > 1+maxE164Digits || s[0] != '+' || s[1] == '0' {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	cc, nsn := 0, ""
	for i := 1; i <= 3; i++ {
		cc = cc*10 + int(s[i]-'0')
		if callingCodes[cc].known {
			nsn = s[1+i:]
			break
		}
	}
	c := callingCodes[cc]
	if nsn == "" || !c.plain || nsn[0] == '0' || c.strips(nsn) {
		return "", false
	}
	nn, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return "", false
	}
	num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
	return s, phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE
}

// callingCode is what the fast path needs to know of a country calling code.
type callingCode struct {
	known bool // the parser takes it as a country code
	plain bool // its metadata was found, so the fast path may read numbers under it
	// prefix matches a national number from which the parser would strip a national prefix;
	// nil when the country has none to strip.
	prefix *regexp.Regexp
	// literal is the prefix when it is a plain string ("0", "1", "8"): most are.
	literal string
}

// strips reports whether the parser could take a national prefix off nsn.
func (c callingCode) strips(nsn string) bool {
	switch {
	case c.literal != "":
		return strings.HasPrefix(nsn, c.literal)
	case c.prefix != nil:
		return c.prefix.MatchString(nsn)
	}
	return false
}

// callingCodes is indexed by calling code (1 to 999), read from the metadata the parser uses:
// for each code, its main region's (or the non-geographic entity's, for 800, 870...).
var callingCodes = func() (codes [1000]callingCode) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return codes // the fast path stays off; the parser decides every number
	}
	byRegion := make(map[string]*phonenumbers.PhoneMetadata)
	for _, md := range coll.GetMetadata() {
		key := md.GetId()
		if key == "001" {
			key += "/" + strconv.Itoa(int(md.GetCountryCode()))
		}
		byRegion[key] = md
	}
	for cc := 1; cc < len(codes); cc++ {
		region := phonenumbers.GetRegionCodeForCountryCode(cc)
		if region == "ZZ" {
			continue
		}
		codes[cc].known = true
		key := region
		if region == "001" {
			key += "/" + strconv.Itoa(cc)
		}
		md := byRegion[key]
		if md == nil || int(md.GetCountryCode()) != cc {
			continue
		}
		if p := md.GetNationalPrefixForParsing(); p != "" {
			re, err := regexp.Compile("^(?:" + p + ")")
			if err != nil {
				continue
			}
			codes[cc].prefix = re
			if un, err := regexp.Compile("(?:" + p + ")"); err == nil {
				if lit, complete := un.LiteralPrefix(); complete && lit != "" {
					codes[cc].literal = lit
				}
			}
		}
		codes[cc].plain = true
	}
	return codes
}()

func slowPossible(s, region string) (e164, reason string) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", parseErrReason(err)
	}
	if num.GetExtension() != "" {
		return "", "has an extension"
	}
	switch res := phonenumbers.IsPossibleNumberWithReason(num); res {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", "local number without area code"
	case phonenumbers.TOO_SHORT:
		return "", "too short"
	case phonenumbers.TOO_LONG:
		return "", "too long"
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", "unknown country code"
	default:
		region := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
		return "", "length not possible for region " + region
	}
	e164 = phonenumbers.Format(num, phonenumbers.E164)
	// The parser accepts numbers of countries without length metadata from 2 digits on;
	// E.164 bounds them whatever the metadata says.
	switch n := len(e164) - 1; {
	case n < minE164Digits:
		return "", "too short"
	case n > maxE164Digits:
		return "", "too long"
	}
	return e164, ""
}

// parseErrReason maps the parser's errors to short reasons fit for an API error message.
func parseErrReason(err error) string {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return "unknown country code or region"
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return "too short"
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return "too long"
	default:
		return "not a phone number"
	}
}

// digitsOf returns the ASCII digits of s in order.
func digitsOf(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func invalid(reason string) error {
	return fmt.Errorf("%w: %s", ErrInvalidPhone, reason)
}

// ValidRegion reports whether region is a two-letter region code that has a calling code, so
// that national numbers can be read with it.
func ValidRegion(region string) bool {
	return len(region) == 2 && phonenumbers.GetCountryCodeForRegion(region) != 0
}
