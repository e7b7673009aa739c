package pdu

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Body is the body of one PDU: its mandatory parameters, then its TLVs where it has them.
type Body interface {
	// Command is the command_id the body goes under.
	Command() CommandID
	encode(e *encoder)
	decode(d *decoder)
}

// PDU is a decoded PDU.
type PDU struct {
	Header
	Body Body
}

// Decode decodes one whole PDU (as Read returns it). A PDU it cannot take is an *Error that
// carries the header (Seq: the request to answer) and the command_status to answer with:
// ESME_RINVCMDID for an unknown command_id, ESME_RINVCMDLEN for a length that does not match or
// a body that ends early, ESME_RINVMSGLEN for an sm_length past the octets present, a field's own
// status (ESME_RINVSRCADR, ESME_RINVSYSID, ...) for a C-octet string without its NUL within its
// maximum, and the TLV statuses for a broken TLV stream.
func Decode(b []byte) (PDU, error) {
	if len(b) < HeaderLen {
		return PDU{}, &Error{Status: StatusInvalidCmdLen, Fatal: true, Reason: fmt.Sprintf("%d octets are shorter than the header", len(b))}
	}
	h := ParseHeader(b)
	if int(h.Length) != len(b) {
		return PDU{Header: h}, &Error{Header: h, Status: StatusInvalidCmdLen,
			Reason: fmt.Sprintf("command_length %d but %d octets", h.Length, len(b))}
	}
	body := newBody(h.ID)
	if body == nil {
		return PDU{Header: h}, &Error{Header: h, Status: StatusInvalidCmdID, Reason: "unknown or unsupported command_id"}
	}
	d := decoder{h: h, b: b[HeaderLen:]}
	if h.ID.IsResponse() && len(d.b) == 0 {
		// A response refusing its request often has no body at all.
		return PDU{Header: h, Body: body}, nil
	}
	body.decode(&d)
	if d.err == nil && len(d.b) != 0 {
		d.fail("", StatusInvalidCmdLen, fmt.Sprintf("%d octets after the last parameter", len(d.b)))
	}
	if d.err != nil {
		return PDU{Header: h}, d.err
	}
	return PDU{Header: h, Body: body}, nil
}

func newBody(id CommandID) Body {
	switch id {
	case BindReceiver, BindTransmitter, BindTransceiver:
		return &Bind{ID: id}
	case BindReceiverResp, BindTransmitterResp, BindTransceiverResp:
		return &BindResp{ID: id}
	case SubmitSM, DeliverSM:
		return &SM{ID: id}
	case SubmitSMResp, DeliverSMResp, DataSMResp:
		return &SMResp{ID: id}
	case SubmitMulti:
		return &Multi{Message: SM{ID: SubmitSM}}
	case SubmitMultiResp:
		return &MultiResp{}
	case DataSM:
		return &Data{}
	case QuerySM:
		return &Query{}
	case QuerySMResp:
		return &QueryResp{}
	case EnquireLink, EnquireLinkResp, Unbind, UnbindResp, GenericNack:
		return &Empty{ID: id}
	}
	return nil
}

// Append appends the PDU of body, with status and seq in its header, to dst. It refuses what
// would not decode: a C-octet string over its field's maximum or holding a NUL, a short message
// over 254 octets, a TLV over 65,535.
func Append(dst []byte, status Status, seq uint32, body Body) ([]byte, error) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(body.Command()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(status))
	dst = binary.BigEndian.AppendUint32(dst, seq)
	e := encoder{b: dst}
	body.encode(&e)
	if e.err != nil {
		return dst[:start], e.err
	}
	binary.BigEndian.PutUint32(e.b[start:], uint32(len(e.b)-start))
	return e.b, nil
}

// Marshal is Append to a new slice.
func Marshal(status Status, seq uint32, body Body) ([]byte, error) {
	return Append(nil, status, seq, body)
}

// decoder reads a body's parameters in order; the first failure stops it (later reads return
// zero values) and is kept in err.
type decoder struct {
	h   Header
	b   []byte
	err *Error
}

func (d *decoder) fail(field string, s Status, reason string) {
	if d.err == nil {
		d.err = &Error{Header: d.h, Status: s, Field: field, Reason: reason}
	}
	d.b = nil
}

func (d *decoder) byte1(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(field, StatusInvalidCmdLen, "the body ends before it")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint32(field string) uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.fail(field, StatusInvalidCmdLen, "the body ends before it")
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// cstring reads a C-octet string of at most max octets, its NUL included; bad is the status of
// one without its NUL within max.
func (d *decoder) cstring(field string, max int, bad Status) string {
	if d.err != nil {
		return ""
	}
	lim := min(max, len(d.b))
	for i := range lim {
		if d.b[i] == 0 {
			s := string(d.b[:i])
			d.b = d.b[i+1:]
			return s
		}
	}
	if len(d.b) < max {
		d.fail(field, StatusInvalidCmdLen, "the body ends before its NUL")
	} else {
		d.fail(field, bad, fmt.Sprintf("longer than %d octets", max-1))
	}
	return ""
}

// time reads an SMPP time field: empty, or 16 characters (section 7.1.1).
func (d *decoder) time(field string, bad Status) string {
	s := d.cstring(field, 17, bad)
	if d.err == nil && s != "" && len(s) != 16 {
		d.fail(field, bad, fmt.Sprintf("%d characters, not 16", len(s)))
	}
	return s
}

func (d *decoder) octets(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(field, StatusInvalidMsgLen, fmt.Sprintf("%d octets announced, %d present", n, len(d.b)))
		return nil
	}
	v := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *decoder) address(prefix string, max int, bad Status) Address {
	var a Address
	a.TON = d.byte1(prefix + "_addr_ton")
	a.NPI = d.byte1(prefix + "_addr_npi")
	a.Addr = d.cstring(prefix+"_addr", max, bad)
	return a
}

// encoder appends a body's parameters; the first refusal stops it.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) byte1(v byte) { e.b = append(e.b, v) }

func (e *encoder) uint32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *encoder) cstring(field, s string, max int) {
	if e.err != nil {
		return
	}
	if len(s) > max-1 {
		e.err = fmt.Errorf("smpp: %s is %d octets, longer than %d", field, len(s), max-1)
		return
	}
	if strings.IndexByte(s, 0) >= 0 {
		e.err = fmt.Errorf("smpp: %s holds a NUL octet", field)
		return
	}
	e.b = append(append(e.b, s...), 0)
}

func (e *encoder) time(field, s string) {
	if e.err == nil && s != "" && len(s) != 16 {
		e.err = fmt.Errorf("smpp: %s %q is not 16 characters", field, s)
		return
	}
	e.cstring(field, s, 17)
}

func (e *encoder) address(prefix string, a Address, max int) {
	e.byte1(a.TON)
	e.byte1(a.NPI)
	e.cstring(prefix+"_addr", a.Addr, max)
}
