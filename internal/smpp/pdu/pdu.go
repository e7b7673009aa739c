// Package pdu reads and writes SMPP 3.4 protocol data units: the 16-octet header, the bodies
// of the operations Ibiki speaks (binds, submit_sm, submit_multi, deliver_sm, data_sm,
// query_sm, enquire_link, unbind, generic_nack and their responses), optional parameters
// (TLVs), delivery receipt texts, concatenation headers (UDH) and the forms an SMSC gives one
// message id. It is shared by the upstream connector (provider/smpp) and the SMPP server for
// clients (smpp). It does no I/O beyond framing (Read) and keeps no state.
//
// Decoding is strict where the specification is (lengths, C-octet strings within their
// maximum, sm_length against the octets present) and says why a PDU is refused with the
// command_status a peer should be answered with (Error.Status), so that a server can answer
// a malformed PDU with generic_nack or the operation's response and keep the session.
package pdu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// CommandID is an SMPP command_id. A response's id is its request's with the high bit set.
type CommandID uint32

// The command ids of SMPP 3.4 (section 5.1.2.1).
const (
	GenericNack         CommandID = 0x80000000
	BindReceiver        CommandID = 0x00000001
	BindReceiverResp    CommandID = 0x80000001
	BindTransmitter     CommandID = 0x00000002
	BindTransmitterResp CommandID = 0x80000002
	QuerySM             CommandID = 0x00000003
	QuerySMResp         CommandID = 0x80000003
	SubmitSM            CommandID = 0x00000004
	SubmitSMResp        CommandID = 0x80000004
	DeliverSM           CommandID = 0x00000005
	DeliverSMResp       CommandID = 0x80000005
	Unbind              CommandID = 0x00000006
	UnbindResp          CommandID = 0x80000006
	ReplaceSM           CommandID = 0x00000007
	ReplaceSMResp       CommandID = 0x80000007
	CancelSM            CommandID = 0x00000008
	CancelSMResp        CommandID = 0x80000008
	BindTransceiver     CommandID = 0x00000009
	BindTransceiverResp CommandID = 0x80000009
	Outbind             CommandID = 0x0000000B
	EnquireLink         CommandID = 0x00000015
	EnquireLinkResp     CommandID = 0x80000015
	SubmitMulti         CommandID = 0x00000021
	SubmitMultiResp     CommandID = 0x80000021
	AlertNotification   CommandID = 0x00000102
	DataSM              CommandID = 0x00000103
	DataSMResp          CommandID = 0x80000103
)

var commandNames = map[CommandID]string{
	GenericNack: "generic_nack", BindReceiver: "bind_receiver", BindReceiverResp: "bind_receiver_resp",
	BindTransmitter: "bind_transmitter", BindTransmitterResp: "bind_transmitter_resp", QuerySM: "query_sm",
	QuerySMResp: "query_sm_resp", SubmitSM: "submit_sm", SubmitSMResp: "submit_sm_resp", DeliverSM: "deliver_sm",
	DeliverSMResp: "deliver_sm_resp", Unbind: "unbind", UnbindResp: "unbind_resp", ReplaceSM: "replace_sm",
	ReplaceSMResp: "replace_sm_resp", CancelSM: "cancel_sm", CancelSMResp: "cancel_sm_resp",
	BindTransceiver: "bind_transceiver", BindTransceiverResp: "bind_transceiver_resp", Outbind: "outbind",
	EnquireLink: "enquire_link", EnquireLinkResp: "enquire_link_resp", SubmitMulti: "submit_multi",
	SubmitMultiResp: "submit_multi_resp", AlertNotification: "alert_notification", DataSM: "data_sm",
	DataSMResp: "data_sm_resp",
}

func (c CommandID) String() string {
	if n, ok := commandNames[c]; ok {
		return n
	}
	return fmt.Sprintf("command_0x%08x", uint32(c))
}

// IsResponse says the command answers a request.
func (c CommandID) IsResponse() bool { return c&0x80000000 != 0 }

// Resp is the response's command id of a request (generic_nack for one without its own).
func (c CommandID) Resp() CommandID {
	switch c {
	case Outbind, AlertNotification, GenericNack:
		return GenericNack
	}
	if _, ok := commandNames[c|0x80000000]; ok && !c.IsResponse() {
		return c | 0x80000000
	}
	return GenericNack
}

// Status is an SMPP command_status (an error code in a response).
type Status uint32

// The command_status values of SMPP 3.4 (section 5.1.3).
const (
	StatusOK                   Status = 0x00000000 // ESME_ROK
	StatusInvalidMsgLen        Status = 0x00000001 // ESME_RINVMSGLEN
	StatusInvalidCmdLen        Status = 0x00000002 // ESME_RINVCMDLEN
	StatusInvalidCmdID         Status = 0x00000003 // ESME_RINVCMDID
	StatusInvalidBindStatus    Status = 0x00000004 // ESME_RINVBNDSTS
	StatusAlreadyBound         Status = 0x00000005 // ESME_RALYBND
	StatusInvalidPriority      Status = 0x00000006 // ESME_RINVPRTFLG
	StatusInvalidRegDelivery   Status = 0x00000007 // ESME_RINVREGDLVFLG
	StatusSystemError          Status = 0x00000008 // ESME_RSYSERR
	StatusInvalidSourceAddr    Status = 0x0000000A // ESME_RINVSRCADR
	StatusInvalidDestAddr      Status = 0x0000000B // ESME_RINVDSTADR
	StatusInvalidMsgID         Status = 0x0000000C // ESME_RINVMSGID
	StatusBindFailed           Status = 0x0000000D // ESME_RBINDFAIL
	StatusInvalidPassword      Status = 0x0000000E // ESME_RINVPASWD
	StatusInvalidSystemID      Status = 0x0000000F // ESME_RINVSYSID
	StatusCancelFailed         Status = 0x00000011 // ESME_RCANCELFAIL
	StatusReplaceFailed        Status = 0x00000013 // ESME_RREPLACEFAIL
	StatusQueueFull            Status = 0x00000014 // ESME_RMSGQFUL
	StatusInvalidServiceType   Status = 0x00000015 // ESME_RINVSERTYP
	StatusInvalidNumDests      Status = 0x00000033 // ESME_RINVNUMDESTS
	StatusInvalidDLName        Status = 0x00000034 // ESME_RINVDLNAME
	StatusInvalidDestFlag      Status = 0x00000040 // ESME_RINVDESTFLAG
	StatusInvalidSubmitReplace Status = 0x00000042 // ESME_RINVSUBREP
	StatusInvalidESMClass      Status = 0x00000043 // ESME_RINVESMCLASS
	StatusCannotSubmitToDL     Status = 0x00000044 // ESME_RCNTSUBDL
	StatusSubmitFailed         Status = 0x00000045 // ESME_RSUBMITFAIL
	StatusInvalidSourceTON     Status = 0x00000048 // ESME_RINVSRCTON
	StatusInvalidSourceNPI     Status = 0x00000049 // ESME_RINVSRCNPI
	StatusInvalidDestTON       Status = 0x00000050 // ESME_RINVDSTTON
	StatusInvalidDestNPI       Status = 0x00000051 // ESME_RINVDSTNPI
	StatusInvalidSystemType    Status = 0x00000053 // ESME_RINVSYSTYP
	StatusInvalidReplaceFlag   Status = 0x00000054 // ESME_RINVREPFLAG
	StatusInvalidNumMsgs       Status = 0x00000055 // ESME_RINVNUMMSGS
	StatusThrottled            Status = 0x00000058 // ESME_RTHROTTLED
	StatusInvalidSchedule      Status = 0x00000061 // ESME_RINVSCHED
	StatusInvalidExpiry        Status = 0x00000062 // ESME_RINVEXPIRY
	StatusInvalidDefaultMsgID  Status = 0x00000063 // ESME_RINVDFTMSGID
	StatusTempAppError         Status = 0x00000064 // ESME_RX_T_APPN
	StatusPermAppError         Status = 0x00000065 // ESME_RX_P_APPN
	StatusRejectAppError       Status = 0x00000066 // ESME_RX_R_APPN
	StatusQueryFailed          Status = 0x00000067 // ESME_RQUERYFAIL
	StatusInvalidTLVStream     Status = 0x000000C0 // ESME_RINVOPTPARSTREAM
	StatusTLVNotAllowed        Status = 0x000000C1 // ESME_ROPTPARNOTALLWD
	StatusInvalidTLVLength     Status = 0x000000C2 // ESME_RINVPARLEN
	StatusMissingTLV           Status = 0x000000C3 // ESME_RMISSINGOPTPARAM
	StatusInvalidTLVValue      Status = 0x000000C4 // ESME_RINVOPTPARAMVAL
	StatusDeliveryFailure      Status = 0x000000FE // ESME_RDELIVERYFAILURE
	StatusUnknownError         Status = 0x000000FF // ESME_RUNKNOWNERR
)

var statusNames = map[Status]string{
	StatusOK: "ESME_ROK", StatusInvalidMsgLen: "ESME_RINVMSGLEN", StatusInvalidCmdLen: "ESME_RINVCMDLEN",
	StatusInvalidCmdID: "ESME_RINVCMDID", StatusInvalidBindStatus: "ESME_RINVBNDSTS", StatusAlreadyBound: "ESME_RALYBND",
	StatusInvalidPriority: "ESME_RINVPRTFLG", StatusInvalidRegDelivery: "ESME_RINVREGDLVFLG",
	StatusSystemError: "ESME_RSYSERR", StatusInvalidSourceAddr: "ESME_RINVSRCADR", StatusInvalidDestAddr: "ESME_RINVDSTADR",
	StatusInvalidMsgID: "ESME_RINVMSGID", StatusBindFailed: "ESME_RBINDFAIL", StatusInvalidPassword: "ESME_RINVPASWD",
	StatusInvalidSystemID: "ESME_RINVSYSID", StatusCancelFailed: "ESME_RCANCELFAIL", StatusReplaceFailed: "ESME_RREPLACEFAIL",
	StatusQueueFull: "ESME_RMSGQFUL", StatusInvalidServiceType: "ESME_RINVSERTYP", StatusInvalidNumDests: "ESME_RINVNUMDESTS",
	StatusInvalidDLName: "ESME_RINVDLNAME", StatusInvalidDestFlag: "ESME_RINVDESTFLAG",
	StatusInvalidSubmitReplace: "ESME_RINVSUBREP", StatusInvalidESMClass: "ESME_RINVESMCLASS",
	StatusCannotSubmitToDL: "ESME_RCNTSUBDL", StatusSubmitFailed: "ESME_RSUBMITFAIL", StatusInvalidSourceTON: "ESME_RINVSRCTON",
	StatusInvalidSourceNPI: "ESME_RINVSRCNPI", StatusInvalidDestTON: "ESME_RINVDSTTON", StatusInvalidDestNPI: "ESME_RINVDSTNPI",
	StatusInvalidSystemType: "ESME_RINVSYSTYP", StatusInvalidReplaceFlag: "ESME_RINVREPFLAG",
	StatusInvalidNumMsgs: "ESME_RINVNUMMSGS", StatusThrottled: "ESME_RTHROTTLED", StatusInvalidSchedule: "ESME_RINVSCHED",
	StatusInvalidExpiry: "ESME_RINVEXPIRY", StatusInvalidDefaultMsgID: "ESME_RINVDFTMSGID", StatusTempAppError: "ESME_RX_T_APPN",
	StatusPermAppError: "ESME_RX_P_APPN", StatusRejectAppError: "ESME_RX_R_APPN", StatusQueryFailed: "ESME_RQUERYFAIL",
	StatusInvalidTLVStream: "ESME_RINVOPTPARSTREAM", StatusTLVNotAllowed: "ESME_ROPTPARNOTALLWD",
	StatusInvalidTLVLength: "ESME_RINVPARLEN", StatusMissingTLV: "ESME_RMISSINGOPTPARAM",
	StatusInvalidTLVValue: "ESME_RINVOPTPARAMVAL", StatusDeliveryFailure: "ESME_RDELIVERYFAILURE",
	StatusUnknownError: "ESME_RUNKNOWNERR",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", uint32(s))
}

// HeaderLen is the length of the header every PDU starts with.
const HeaderLen = 16

// MaxLen is the longest PDU Read accepts by default: a submit_sm carries at most 254 octets of
// short_message, or a message_payload TLV of up to 64 KB.
const MaxLen = 70000

// Header is the PDU header.
type Header struct {
	Length uint32 // command_length: the whole PDU, header included
	ID     CommandID
	Status Status
	Seq    uint32 // sequence_number
}

// ParseHeader reads the header at the start of b (at least HeaderLen octets).
func ParseHeader(b []byte) Header {
	return Header{Length: binary.BigEndian.Uint32(b), ID: CommandID(binary.BigEndian.Uint32(b[4:])),
		Status: Status(binary.BigEndian.Uint32(b[8:])), Seq: binary.BigEndian.Uint32(b[12:])}
}

// Error is a PDU Ibiki cannot take, with the command_status its sender should be answered with
// and the header as far as it was read (its Seq names the request to answer).
type Error struct {
	Header Header
	Status Status
	Field  string // the field at fault, "" for the PDU as a whole
	Reason string
	// Fatal: the stream's framing is lost (a command_length under 16 or past the limit that
	// could not be skipped); the session cannot go on.
	Fatal bool
}

func (e *Error) Error() string {
	s := "smpp: " + e.Header.ID.String()
	if e.Field != "" {
		s += " " + e.Field
	}
	return s + ": " + e.Reason + " (" + e.Status.String() + ")"
}

// Read reads one whole PDU from r (its header included) into a new slice. A command_length
// under 16 is a fatal *Error (the stream cannot be resynchronised); one over max is an *Error
// whose octets were read and dropped, so that the session may answer it and go on (Fatal when
// the stream ended first). io.EOF is returned as is when r ends between PDUs.
func Read(r io.Reader, max int) ([]byte, error) {
	if max <= 0 {
		max = MaxLen
	}
	var head [HeaderLen]byte
	if _, err := io.ReadFull(r, head[:4]); err != nil {
		return nil, err // io.EOF between PDUs, io.ErrUnexpectedEOF within one
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n < HeaderLen {
		return nil, &Error{Header: Header{Length: n}, Status: StatusInvalidCmdLen, Fatal: true,
			Reason: fmt.Sprintf("command_length %d is shorter than the header", n)}
	}
	if _, err := io.ReadFull(r, head[4:]); err != nil {
		return nil, unexpected(err)
	}
	if n > uint32(max) {
		h := ParseHeader(head[:])
		_, err := io.CopyN(io.Discard, r, int64(n)-HeaderLen)
		return nil, &Error{Header: h, Status: StatusInvalidCmdLen, Fatal: err != nil,
			Reason: fmt.Sprintf("command_length %d is over the limit of %d", n, max)}
	}
	b := make([]byte, n)
	copy(b, head[:])
	if _, err := io.ReadFull(r, b[HeaderLen:]); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
