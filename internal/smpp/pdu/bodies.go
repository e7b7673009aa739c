package pdu

import (
	"encoding/binary"
	"fmt"
)

// Address is a TON, an NPI and the address itself.
type Address struct {
	TON, NPI byte
	Addr     string
}

// Type of number and numbering plan values (section 5.2.5, 5.2.6) Ibiki uses.
const (
	TONUnknown       byte = 0
	TONInternational byte = 1
	TONNational      byte = 2
	TONAlphanumeric  byte = 5
	NPIUnknown       byte = 0
	NPIISDN          byte = 1 // E.164
)

// The maxima of the C-octet strings, their NUL included (section 4).
const (
	maxSystemID     = 16
	maxPassword     = 9
	maxSystemType   = 13
	maxAddressRange = 41
	maxServiceType  = 6
	maxAddr         = 21
	maxDataSMAddr   = 65
	maxMessageID    = 65
	maxDLName       = 21
	// MaxShortMessage is the longest short_message (sm_length 0–254); longer text goes in the
	// message_payload TLV.
	MaxShortMessage = 254
)

// Bind is bind_receiver, bind_transmitter or bind_transceiver (ID says which).
type Bind struct {
	ID               CommandID
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion byte // 0x34 for SMPP 3.4
	AddrTON, AddrNPI byte
	AddressRange     string
}

// Command implements Body.
func (b *Bind) Command() CommandID { return b.ID }

func (b *Bind) encode(e *encoder) {
	e.cstring("system_id", b.SystemID, maxSystemID)
	e.cstring("password", b.Password, maxPassword)
	e.cstring("system_type", b.SystemType, maxSystemType)
	e.byte1(b.InterfaceVersion)
	e.byte1(b.AddrTON)
	e.byte1(b.AddrNPI)
	e.cstring("address_range", b.AddressRange, maxAddressRange)
}

func (b *Bind) decode(d *decoder) {
	b.SystemID = d.cstring("system_id", maxSystemID, StatusInvalidSystemID)
	b.Password = d.cstring("password", maxPassword, StatusInvalidPassword)
	b.SystemType = d.cstring("system_type", maxSystemType, StatusInvalidSystemType)
	b.InterfaceVersion = d.byte1("interface_version")
	b.AddrTON = d.byte1("addr_ton")
	b.AddrNPI = d.byte1("addr_npi")
	b.AddressRange = d.cstring("address_range", maxAddressRange, StatusInvalidCmdLen)
}

// BindResp answers a bind (ID is the response's command id).
type BindResp struct {
	ID       CommandID
	SystemID string
	TLVs     TLVs // sc_interface_version
}

// Command implements Body.
func (b *BindResp) Command() CommandID { return b.ID }

func (b *BindResp) encode(e *encoder) {
	e.cstring("system_id", b.SystemID, maxSystemID)
	b.TLVs.encode(e)
}

func (b *BindResp) decode(d *decoder) {
	b.SystemID = d.cstring("system_id", maxSystemID, StatusInvalidSystemID)
	b.TLVs = d.tlvs()
}

// SM is submit_sm or deliver_sm (ID says which): the two share their layout (section 4.4.1,
// 4.6.1). A delivery receipt is a deliver_sm whose esm_class says so (IsReceipt).
type SM struct {
	ID                   CommandID
	ServiceType          string
	Source, Dest         Address
	ESMClass             byte
	ProtocolID           byte
	PriorityFlag         byte
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   byte
	ReplaceIfPresent     byte
	DataCoding           byte
	DefaultMsgID         byte
	ShortMessage         []byte
	TLVs                 TLVs
}

// esm_class bits (section 5.2.12).
const (
	ESMClassReceipt byte = 0x04 // message type: SMSC delivery receipt
	ESMClassUDHI    byte = 0x40 // the short message starts with a user data header
	esmTypeMask     byte = 0x3C
)

// IsReceipt says a deliver_sm is an SMSC delivery receipt (or an intermediate notification)
// rather than a mobile-originated message.
func (m *SM) IsReceipt() bool {
	t := m.ESMClass & esmTypeMask
	return t == ESMClassReceipt || t == 0x20 // 0x20: intermediate delivery notification
}

// Command implements Body.
func (m *SM) Command() CommandID { return m.ID }

func (m *SM) encode(e *encoder) {
	m.encodeHead(e)
	e.address("destination", m.Dest, maxAddr)
	m.encodeTail(e)
}

// encodeHead writes what comes before the destination (submit_multi puts its list there).
func (m *SM) encodeHead(e *encoder) {
	e.cstring("service_type", m.ServiceType, maxServiceType)
	e.address("source", m.Source, maxAddr)
}

// encodeTail writes what comes after the destination.
func (m *SM) encodeTail(e *encoder) {
	e.byte1(m.ESMClass)
	e.byte1(m.ProtocolID)
	e.byte1(m.PriorityFlag)
	e.time("schedule_delivery_time", m.ScheduleDeliveryTime)
	e.time("validity_period", m.ValidityPeriod)
	e.byte1(m.RegisteredDelivery)
	e.byte1(m.ReplaceIfPresent)
	e.byte1(m.DataCoding)
	e.byte1(m.DefaultMsgID)
	e.shortMessage(m.ShortMessage)
	m.TLVs.encode(e)
}

func (m *SM) decode(d *decoder) {
	m.decodeHead(d)
	m.Dest = d.address("destination", maxAddr, StatusInvalidDestAddr)
	m.decodeTail(d)
}

func (m *SM) decodeHead(d *decoder) {
	m.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	m.Source = d.address("source", maxAddr, StatusInvalidSourceAddr)
}

func (m *SM) decodeTail(d *decoder) {
	m.ESMClass = d.byte1("esm_class")
	m.ProtocolID = d.byte1("protocol_id")
	m.PriorityFlag = d.byte1("priority_flag")
	m.ScheduleDeliveryTime = d.time("schedule_delivery_time", StatusInvalidSchedule)
	m.ValidityPeriod = d.time("validity_period", StatusInvalidExpiry)
	m.RegisteredDelivery = d.byte1("registered_delivery")
	m.ReplaceIfPresent = d.byte1("replace_if_present_flag")
	m.DataCoding = d.byte1("data_coding")
	m.DefaultMsgID = d.byte1("sm_default_msg_id")
	m.ShortMessage = d.shortMessage()
	m.TLVs = d.tlvs()
}

func (e *encoder) shortMessage(sm []byte) {
	if e.err == nil && len(sm) > MaxShortMessage {
		e.err = fmt.Errorf("smpp: short_message is %d octets, longer than %d (use message_payload)", len(sm), MaxShortMessage)
		return
	}
	e.byte1(byte(len(sm)))
	e.b = append(e.b, sm...)
}

func (d *decoder) shortMessage() []byte {
	n := d.byte1("sm_length")
	if d.err == nil && int(n) > MaxShortMessage {
		d.fail("sm_length", StatusInvalidMsgLen, fmt.Sprintf("%d is over %d", n, MaxShortMessage))
		return nil
	}
	return d.octets("short_message", int(n))
}

// SMResp is submit_sm_resp, deliver_sm_resp or data_sm_resp (ID says which): the message id
// the SMSC gave (empty in deliver_sm_resp), and TLVs (data_sm_resp's, or a later version's).
type SMResp struct {
	ID        CommandID
	MessageID string
	TLVs      TLVs
}

// Command implements Body.
func (r *SMResp) Command() CommandID { return r.ID }

func (r *SMResp) encode(e *encoder) {
	e.cstring("message_id", r.MessageID, maxMessageID)
	r.TLVs.encode(e)
}

func (r *SMResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMsgID)
	// SMPP 3.4 gives only data_sm_resp TLVs, but SMSCs speaking later versions add them to the
	// others (additional_status_info_text...): read them rather than refuse the response.
	r.TLVs = d.tlvs()
}

// Dest is one destination of submit_multi: an SME address (Flag 1) or a distribution list's
// name (Flag 2).
type Dest struct {
	Flag   byte
	Addr   Address
	DLName string
}

// Destination flags of submit_multi.
const (
	DestSME  byte = 1
	DestList byte = 2
)

// Multi is submit_multi: one message (Message, whose ID and Dest are not used) to up to 254
// destinations, so that it can take the path of a submit_sm.
type Multi struct {
	Message SM
	Dests   []Dest
}

// Command implements Body.
func (m *Multi) Command() CommandID { return SubmitMulti }

func (m *Multi) encode(e *encoder) {
	m.Message.encodeHead(e)
	if e.err == nil && (len(m.Dests) == 0 || len(m.Dests) > 254) {
		e.err = fmt.Errorf("smpp: submit_multi has %d destinations (1–254)", len(m.Dests))
	}
	e.byte1(byte(len(m.Dests)))
	for _, dst := range m.Dests {
		e.byte1(dst.Flag)
		switch dst.Flag {
		case DestSME:
			e.address("dest", dst.Addr, maxAddr)
		case DestList:
			e.cstring("dl_name", dst.DLName, maxDLName)
		default:
			if e.err == nil {
				e.err = fmt.Errorf("smpp: dest_flag %d is neither 1 nor 2", dst.Flag)
			}
		}
	}
	m.Message.encodeTail(e)
}

func (m *Multi) decode(d *decoder) {
	m.Message.decodeHead(d)
	n := d.byte1("number_of_dests")
	if d.err == nil && (n == 0 || n > 254) {
		d.fail("number_of_dests", StatusInvalidNumDests, fmt.Sprintf("%d destinations (1–254)", n))
	}
	for range n {
		if d.err != nil {
			break
		}
		dst := Dest{Flag: d.byte1("dest_flag")}
		switch dst.Flag {
		case DestSME:
			dst.Addr = d.address("dest", maxAddr, StatusInvalidDestAddr)
		case DestList:
			dst.DLName = d.cstring("dl_name", maxDLName, StatusInvalidDLName)
		default:
			d.fail("dest_flag", StatusInvalidDestFlag, fmt.Sprintf("%d is neither 1 nor 2", dst.Flag))
		}
		m.Dests = append(m.Dests, dst)
	}
	m.Message.decodeTail(d)
}

// Unsuccess is a destination submit_multi could not take, with why.
type Unsuccess struct {
	Addr   Address
	Status Status
}

// MultiResp is submit_multi_resp.
type MultiResp struct {
	MessageID string
	Unsuccess []Unsuccess
}

// Command implements Body.
func (r *MultiResp) Command() CommandID { return SubmitMultiResp }

func (r *MultiResp) encode(e *encoder) {
	e.cstring("message_id", r.MessageID, maxMessageID)
	if e.err == nil && len(r.Unsuccess) > 255 {
		e.err = fmt.Errorf("smpp: %d unsuccessful destinations (at most 255)", len(r.Unsuccess))
	}
	e.byte1(byte(len(r.Unsuccess)))
	for _, u := range r.Unsuccess {
		e.address("dest", u.Addr, maxAddr)
		e.uint32(uint32(u.Status))
	}
}

func (r *MultiResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMsgID)
	n := d.byte1("no_unsuccess")
	for range n {
		if d.err != nil {
			break
		}
		u := Unsuccess{Addr: d.address("dest", maxAddr, StatusInvalidDestAddr)}
		u.Status = Status(d.uint32("error_status_code"))
		r.Unsuccess = append(r.Unsuccess, u)
	}
}

// Data is data_sm (section 4.7.1): the text, if any, is in the message_payload TLV.
type Data struct {
	ServiceType        string
	Source, Dest       Address
	ESMClass           byte
	RegisteredDelivery byte
	DataCoding         byte
	TLVs               TLVs
}

// Command implements Body.
func (m *Data) Command() CommandID { return DataSM }

func (m *Data) encode(e *encoder) {
	e.cstring("service_type", m.ServiceType, maxServiceType)
	e.address("source", m.Source, maxDataSMAddr)
	e.address("destination", m.Dest, maxDataSMAddr)
	e.byte1(m.ESMClass)
	e.byte1(m.RegisteredDelivery)
	e.byte1(m.DataCoding)
	m.TLVs.encode(e)
}

func (m *Data) decode(d *decoder) {
	m.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	m.Source = d.address("source", maxDataSMAddr, StatusInvalidSourceAddr)
	m.Dest = d.address("destination", maxDataSMAddr, StatusInvalidDestAddr)
	m.ESMClass = d.byte1("esm_class")
	m.RegisteredDelivery = d.byte1("registered_delivery")
	m.DataCoding = d.byte1("data_coding")
	m.TLVs = d.tlvs()
}

// Query is query_sm: the state of a message submitted earlier.
type Query struct {
	MessageID string
	Source    Address
}

// Command implements Body.
func (q *Query) Command() CommandID { return QuerySM }

func (q *Query) encode(e *encoder) {
	e.cstring("message_id", q.MessageID, maxMessageID)
	e.address("source", q.Source, maxAddr)
}

func (q *Query) decode(d *decoder) {
	q.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMsgID)
	q.Source = d.address("source", maxAddr, StatusInvalidSourceAddr)
}

// QueryResp is query_sm_resp.
type QueryResp struct {
	MessageID    string
	FinalDate    string
	MessageState byte
	ErrorCode    byte
}

// Command implements Body.
func (q *QueryResp) Command() CommandID { return QuerySMResp }

func (q *QueryResp) encode(e *encoder) {
	e.cstring("message_id", q.MessageID, maxMessageID)
	e.time("final_date", q.FinalDate)
	e.byte1(q.MessageState)
	e.byte1(q.ErrorCode)
}

func (q *QueryResp) decode(d *decoder) {
	q.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMsgID)
	q.FinalDate = d.time("final_date", StatusInvalidCmdLen)
	q.MessageState = d.byte1("message_state")
	q.ErrorCode = d.byte1("error_code")
}

// Empty is a PDU without a body: enquire_link, unbind, their responses, generic_nack.
type Empty struct{ ID CommandID }

// Command implements Body.
func (p *Empty) Command() CommandID { return p.ID }

func (p *Empty) encode(*encoder) {}
func (p *Empty) decode(*decoder) {}

// Tag is a TLV's tag.
type Tag uint16

// The TLV tags Ibiki reads or writes (section 5.3.2).
const (
	TagDestAddrSubunit     Tag = 0x0005
	TagReceiptedMessageID  Tag = 0x001E
	TagUserMessageRef      Tag = 0x0204
	TagSourcePort          Tag = 0x020A
	TagDestPort            Tag = 0x020B
	TagSARMsgRefNum        Tag = 0x020C
	TagSARTotalSegments    Tag = 0x020E
	TagSARSegmentSeqnum    Tag = 0x020F
	TagSCInterfaceVersion  Tag = 0x0210
	TagNetworkErrorCode    Tag = 0x0423
	TagMessagePayload      Tag = 0x0424
	TagMoreMessagesToSend  Tag = 0x0426
	TagMessageState        Tag = 0x0427
	TagAlertOnMessageDeliv Tag = 0x130C
)

// fixedTLV is the value length of the tags that have one.
var fixedTLV = map[Tag]int{
	TagDestAddrSubunit: 1, TagUserMessageRef: 2, TagSourcePort: 2, TagDestPort: 2, TagSARMsgRefNum: 2,
	TagSARTotalSegments: 1, TagSARSegmentSeqnum: 1, TagSCInterfaceVersion: 1, TagNetworkErrorCode: 3,
	TagMoreMessagesToSend: 1, TagMessageState: 1,
}

// TLV is one optional parameter.
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs are a PDU's optional parameters, in their order.
type TLVs []TLV

// Get returns the value of the first TLV with tag.
func (ts TLVs) Get(tag Tag) ([]byte, bool) {
	for _, t := range ts {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// Uint returns the value of tag read as a big-endian number (values of 1, 2 or 4 octets).
func (ts TLVs) Uint(tag Tag) (uint32, bool) {
	v, ok := ts.Get(tag)
	if !ok || len(v) == 0 || len(v) > 4 {
		return 0, false
	}
	var n uint32
	for _, b := range v {
		n = n<<8 | uint32(b)
	}
	return n, true
}

// String returns the value of tag as text, its trailing NUL (C-octet strings) dropped.
func (ts TLVs) String(tag Tag) (string, bool) {
	v, ok := ts.Get(tag)
	if !ok {
		return "", false
	}
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v), true
}

// Uint8TLV, Uint16TLV and CStringTLV build TLVs.
func Uint8TLV(tag Tag, v uint8) TLV { return TLV{Tag: tag, Value: []byte{v}} }

// Uint16TLV builds a TLV of a 2-octet number.
func Uint16TLV(tag Tag, v uint16) TLV {
	return TLV{Tag: tag, Value: binary.BigEndian.AppendUint16(nil, v)}
}

// CStringTLV builds a TLV of a C-octet string (its NUL appended).
func CStringTLV(tag Tag, s string) TLV { return TLV{Tag: tag, Value: append([]byte(s), 0)} }

func (ts TLVs) encode(e *encoder) {
	for _, t := range ts {
		if e.err != nil {
			return
		}
		if len(t.Value) > 0xFFFF {
			e.err = fmt.Errorf("smpp: TLV 0x%04x is %d octets, longer than 65535", uint16(t.Tag), len(t.Value))
			return
		}
		if n, ok := fixedTLV[t.Tag]; ok && len(t.Value) != n {
			e.err = fmt.Errorf("smpp: TLV 0x%04x is %d octets, not %d", uint16(t.Tag), len(t.Value), n)
			return
		}
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(t.Tag))
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(len(t.Value)))
		e.b = append(e.b, t.Value...)
	}
}

func (d *decoder) tlvs() TLVs {
	var ts TLVs
	for d.err == nil && len(d.b) > 0 {
		if len(d.b) < 4 {
			d.fail("tlv", StatusInvalidTLVStream, fmt.Sprintf("%d octets left, a TLV needs at least 4", len(d.b)))
			return nil
		}
		tag, n := Tag(binary.BigEndian.Uint16(d.b)), int(binary.BigEndian.Uint16(d.b[2:]))
		if len(d.b)-4 < n {
			d.fail(fmt.Sprintf("tlv 0x%04x", uint16(tag)), StatusInvalidTLVLength,
				fmt.Sprintf("length %d, %d octets left", n, len(d.b)-4))
			return nil
		}
		if want, ok := fixedTLV[tag]; ok && n != want {
			d.fail(fmt.Sprintf("tlv 0x%04x", uint16(tag)), StatusInvalidTLVLength, fmt.Sprintf("length %d, not %d", n, want))
			return nil
		}
		ts = append(ts, TLV{Tag: tag, Value: append([]byte(nil), d.b[4:4+n]...)})
		d.b = d.b[4+n:]
	}
	return ts
}
