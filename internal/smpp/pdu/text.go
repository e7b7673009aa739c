package pdu

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ibiki/ibiki/internal/sms"
)

// Content is what a submit_sm or deliver_sm carries: its text and, when it is one part of a
// concatenated message (a UDH or SAR TLVs), which part.
type Content struct {
	Text string
	Part Part
	// Concatenated: Part is set (a message of more than one part).
	Concatenated bool
}

// ErrNotText is a short message whose data_coding is not text (binary data, a WAP push...).
var ErrNotText = errors.New("smpp: the data_coding is not text")

// ErrConcatenation is a broken user data header or SAR TLVs.
var ErrConcatenation = errors.New("smpp: the concatenation header is broken")

// Content reads the text of a submit_sm or deliver_sm: short_message (or message_payload when
// short_message is empty), without its user data header, decoded by data_coding.
func (sm *SM) Content() (Content, error) {
	payload := sm.ShortMessage
	if len(payload) == 0 {
		payload, _ = sm.TLVs.Get(TagMessagePayload)
	}
	var (
		c   Content
		err error
	)
	if sm.ESMClass&ESMClassUDHI != 0 {
		if c.Part, c.Concatenated, payload, err = SplitUDH(payload); err != nil {
			return c, fmt.Errorf("%w: %v", ErrConcatenation, err)
		}
	} else if c.Part, c.Concatenated, err = SARPart(sm.TLVs); err != nil {
		return c, fmt.Errorf("%w: %v", ErrConcatenation, err)
	}
	c.Concatenated = c.Concatenated && c.Part.Total > 1
	text, ok := DecodeText(sm.DataCoding, payload)
	if !ok {
		return c, fmt.Errorf("%w: data_coding 0x%02x", ErrNotText, sm.DataCoding)
	}
	c.Text = text
	return c, nil
}

// DecodeText reads a short message's octets by their data_coding (SMPP 3.4, 5.2.19): the SMSC's
// default alphabet (GSM-7, one septet an octet), IA5/ASCII, Latin-1, UCS-2, and the GSM-7 message
// classes; binary data is not text.
func DecodeText(dc byte, b []byte) (string, bool) {
	switch {
	case dc == 0 || (dc&0xF4) == 0xF0: // default alphabet; 0xF0–0xF3: GSM-7 with a message class
		return sms.DecodeGSM7(b), true
	case dc == 1 || dc == 3:
		return sms.DecodeLatin1(b), true
	case dc == 8:
		return sms.DecodeUCS2(b), true
	}
	return "", false
}

// EncodeText encodes a text for a short message: in the GSM 7-bit alphabet (one septet an
// octet, data_coding gsmDC) when every character has a place in it, else UCS-2 (data_coding 8).
func EncodeText(text string, gsmDC byte) (dc byte, b []byte) {
	if sms.Segments(text).Encoding != sms.UCS2 {
		if b, err := sms.EncodeGSM7(text); err == nil {
			return gsmDC, b
		}
	}
	return 8, sms.EncodeUCS2(text)
}

// Number reads an SMPP address as Ibiki writes numbers: E.164 with its + for an international
// number (TON 1) or one the region can read, a short code or an alphanumeric sender as given.
func Number(a Address, region string) string {
	addr := strings.TrimSpace(a.Addr)
	if a.TON == TONAlphanumeric || addr == "" {
		return addr
	}
	if a.TON == TONInternational && !strings.HasPrefix(addr, "+") {
		addr = "+" + addr
	}
	if n, err := sms.NormalizeAddress(addr, region); err == nil {
		return n
	}
	return addr
}

// AddressOf writes a number as an SMPP address: an E.164 number with ton and npi (without its
// + unless plus), an alphanumeric sender as TON 5 NPI 0, a short code as the network's own
// (TON 3, NPI 0); "" is the empty address.
func AddressOf(n string, ton, npi byte, plus bool) Address {
	switch {
	case n == "":
		return Address{}
	case strings.HasPrefix(n, "+"):
		if !plus {
			n = n[1:]
		}
		return Address{TON: ton, NPI: npi, Addr: n}
	case strings.IndexFunc(n, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		return Address{TON: TONAlphanumeric, NPI: NPIUnknown, Addr: n}
	}
	return Address{TON: 3, NPI: NPIUnknown, Addr: n}
}
