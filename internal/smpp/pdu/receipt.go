package pdu

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Message states (the message_state TLV and query_sm_resp, section 5.2.28).
const (
	StateEnroute       byte = 1
	StateDelivered     byte = 2
	StateExpired       byte = 3
	StateDeleted       byte = 4
	StateUndeliverable byte = 5
	StateAccepted      byte = 6
	StateUnknown       byte = 7
	StateRejected      byte = 8
)

// stats are the receipt text's stat words by message state (SMPP 3.4 appendix B).
var stats = map[byte]string{
	StateEnroute: "ENROUTE", StateDelivered: "DELIVRD", StateExpired: "EXPIRED", StateDeleted: "DELETED",
	StateUndeliverable: "UNDELIV", StateAccepted: "ACCEPTD", StateUnknown: "UNKNOWN", StateRejected: "REJECTD",
}

// StateOfStat is the message state a receipt's stat word names (0 when none).
func StateOfStat(stat string) byte {
	stat = strings.ToUpper(strings.TrimSpace(stat))
	for k, v := range stats {
		if v == stat {
			return k
		}
	}
	switch stat { // spellings seen in the field
	case "DELIVERED":
		return StateDelivered
	case "UNDELIVERABLE":
		return StateUndeliverable
	case "REJECTED":
		return StateRejected
	case "ACCEPTED":
		return StateAccepted
	}
	return 0
}

// StatOf is the receipt text's stat word of a message state.
func StatOf(state byte) string {
	if s, ok := stats[state]; ok {
		return s
	}
	return "UNKNOWN"
}

// Receipt is an SMSC delivery receipt: the text of a receipt deliver_sm (appendix B: "id:IIII
// sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...")
// with what its TLVs add.
type Receipt struct {
	ID         string // the message id the SMSC gave in submit_sm_resp (in the form submit_id or receipt_id names, see CanonicalID)
	Submitted  int    // sub
	Delivered  int    // dlvrd
	SubmitDate time.Time
	DoneDate   time.Time
	Stat       string // DELIVRD, UNDELIV, ...
	State      byte   // the message state: message_state TLV, else from Stat
	Err        string // err: the network-specific error code, as sent
	Text       string // the first characters of the message
}

// receiptKeys are the text's keys, in their order.
var receiptKeys = []string{"id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:", "text:"}

// ParseReceipt reads a delivery receipt from a deliver_sm: the receipted_message_id and
// message_state TLVs when present (they win), and the text. Keys are found case-insensitively
// and in any order; text: runs to the end. A receipt naming no message id is an error.
func ParseReceipt(m *SM) (Receipt, error) {
	var r Receipt
	text := string(m.ShortMessage)
	if len(text) == 0 {
		text, _ = m.TLVs.String(TagMessagePayload)
	}
	fields := receiptFields(text)
	r.ID = fields["id:"]
	fmt.Sscan(fields["sub:"], &r.Submitted)
	fmt.Sscan(fields["dlvrd:"], &r.Delivered)
	r.SubmitDate = receiptDate(fields["submit date:"])
	r.DoneDate = receiptDate(fields["done date:"])
	r.Stat = strings.ToUpper(fields["stat:"])
	r.Err = fields["err:"]
	r.Text = fields["text:"]
	r.State = StateOfStat(r.Stat)
	if id, ok := m.TLVs.String(TagReceiptedMessageID); ok && id != "" {
		r.ID = id
	}
	if st, ok := m.TLVs.Uint(TagMessageState); ok && st != 0 {
		r.State = byte(st)
		if r.Stat == "" {
			r.Stat = StatOf(r.State)
		}
	}
	if r.ID == "" {
		return r, fmt.Errorf("smpp: delivery receipt without a message id: %q", text)
	}
	if r.State == 0 {
		return r, fmt.Errorf("smpp: delivery receipt for %s without a known state (stat %q)", r.ID, r.Stat)
	}
	return r, nil
}

// receiptFields splits a receipt text at its keys.
func receiptFields(text string) map[string]string {
	// ASCII only, so that every byte keeps its position (strings.ToLower would turn an invalid
	// byte into three, and the values would be cut out of text at the wrong places).
	lower := asciiLower(text)
	type at struct {
		key        string
		start, end int // the key's position, and where its value starts
	}
	var found []at
	for _, k := range receiptKeys {
		from := 0
		for {
			i := strings.Index(lower[from:], k)
			if i < 0 {
				break
			}
			i += from
			// A key starts the text or follows a space ("submit date:" holds one; "date:" in it
			// must not be read as its own key, and "id:" must not match inside "xid:").
			if i == 0 || lower[i-1] == ' ' {
				found = append(found, at{key: k, start: i, end: i + len(k)})
				break
			}
			from = i + 1
		}
	}
	// Order by position; each value runs to the next key (text: to the end).
	slices.SortFunc(found, func(a, b at) int { return cmp.Compare(a.start, b.start) })
	out := map[string]string{}
	for i, f := range found {
		end := len(text)
		if f.key != "text:" && i+1 < len(found) {
			end = found[i+1].start
		}
		if end < f.end {
			end = f.end
		}
		v := text[f.end:end]
		if f.key != "text:" {
			v = strings.TrimSpace(v)
		}
		out[f.key] = v
	}
	return out
}

// receiptDate reads YYMMDDhhmm (or YYMMDDhhmmss) as UTC; zero when it is neither.
func receiptDate(s string) time.Time {
	for _, layout := range []string{"0601021504", "060102150405"} {
		if len(s) == len(layout) {
			if t, err := time.Parse(layout, s); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// Format is the receipt's text in the standard format (appendix B), text: cut to 20 characters.
func (r Receipt) Format() string {
	stat := r.Stat
	if stat == "" {
		stat = StatOf(r.State)
	}
	errCode := r.Err
	if errCode == "" {
		errCode = "000"
	}
	text := r.Text
	if n := []rune(text); len(n) > 20 {
		text = string(n[:20])
	}
	return fmt.Sprintf("id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%s text:%s",
		r.ID, r.Submitted, r.Delivered, r.SubmitDate.UTC().Format("0601021504"), r.DoneDate.UTC().Format("0601021504"),
		stat, errCode, text)
}

// IDForm is how an SMSC writes message ids in one place (its submit_sm_resp, or its
// receipts): SMSCs answer submit_sm_resp with one form and write receipts with another (Kannel's
// msg-id-type), so which is which is the connector's configuration, not a guess: the same
// digits read in two forms would make two different messages match.
type IDForm int

// The forms of message ids.
const (
	IDText    IDForm = iota // compared as written (surrounding spaces dropped)
	IDHex                   // a hexadecimal number, any case, any zero padding
	IDDecimal               // a decimal number, any zero padding
)

// CanonicalID is a message id written in form as one comparable string: a number's decimal
// digits (for IDHex and IDDecimal, so that "0A1B", "a1b" and 2587 in decimal meet), else the
// text. An id that is not a number of its form is an error.
func CanonicalID(id string, form IDForm) (string, error) {
	id = strings.TrimSpace(id)
	if form == IDText {
		return id, nil
	}
	base := 16
	if form == IDDecimal {
		base = 10
	}
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "+-_ ") {
		return "", fmt.Errorf("smpp: message id %q is not a base-%d number", id, base)
	}
	v, ok := new(big.Int).SetString(id, base)
	if !ok {
		return "", fmt.Errorf("smpp: message id %q is not a base-%d number", id, base)
	}
	return v.Text(10), nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
