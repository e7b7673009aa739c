package pdu_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The octets of PDUs written out by hand from the specification's layouts (SMPP 3.4 section 4).
func TestEncodingMatchesTheSpecification(t *testing.T) {
	cases := []struct {
		name   string
		status pdu.Status
		seq    uint32
		body   pdu.Body
		want   string
	}{
		{"enquire_link", 0, 1, &pdu.Empty{ID: pdu.EnquireLink}, "00000010 00000015 00000000 00000001"},
		{"generic_nack", pdu.StatusInvalidCmdID, 7, &pdu.Empty{ID: pdu.GenericNack}, "00000010 80000000 00000003 00000007"},
		{"bind_transceiver", 0, 2, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "ibiki", Password: "secret", InterfaceVersion: 0x34},
			"00000022 00000009 00000000 00000002 6962696b6900 73656372657400 00 34 00 00 00"},
		{"submit_sm", 0, 3, &pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{TON: 1, NPI: 1, Addr: "4670"},
			Dest: pdu.Address{TON: 1, NPI: 1, Addr: "4671"}, RegisteredDelivery: 1, ShortMessage: []byte("Hi"),
			TLVs: pdu.TLVs{pdu.Uint16TLV(pdu.TagSARMsgRefNum, 0x0102)}},
			"00000031 00000004 00000000 00000003" + "00" + "0101 3436373000" + "0101 3436373100" + "00 00 00" + "00" + "00" +
				"01 00 00 00" + "02 4869" + "020c 0002 0102"},
		{"submit_sm_resp", 0, 3, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: "0a1b"}, "00000015 80000004 00000000 00000003 3061316200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := pdu.Marshal(c.status, c.seq, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.want); !bytes.Equal(got, want) {
				t.Fatalf("got  %x\nwant %x", got, want)
			}
			p, err := pdu.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if p.Seq != c.seq || p.Status != c.status || p.ID != c.body.Command() || !reflect.DeepEqual(p.Body, c.body) {
				t.Fatalf("decoded %+v %+v, want %+v", p.Header, p.Body, c.body)
			}
		})
	}
}

// Every body survives a round trip through its octets.
func TestRoundTrips(t *testing.T) {
	bodies := []pdu.Body{
		&pdu.Bind{ID: pdu.BindReceiver, SystemID: "abcdefghijklmno", Password: "12345678", SystemType: "ibiki",
			InterfaceVersion: 0x34, AddrTON: 1, AddrNPI: 1, AddressRange: "^467"},
		&pdu.BindResp{ID: pdu.BindTransmitterResp, SystemID: "SMSC", TLVs: pdu.TLVs{pdu.Uint8TLV(pdu.TagSCInterfaceVersion, 0x34)}},
		&pdu.SM{ID: pdu.DeliverSM, ServiceType: "CMT", Source: pdu.Address{TON: 5, Addr: "IBIKI"}, Dest: pdu.Address{Addr: "467"},
			ESMClass: pdu.ESMClassUDHI, DataCoding: 8, ScheduleDeliveryTime: "261207120000000+",
			ValidityPeriod: "000001000000000R", ShortMessage: bytes.Repeat([]byte{0xFF}, 254),
			TLVs: pdu.TLVs{pdu.CStringTLV(pdu.TagReceiptedMessageID, "abc"), {Tag: 0x1401, Value: []byte{1, 2, 3}}}},
		&pdu.SMResp{ID: pdu.DeliverSMResp},
		&pdu.SMResp{ID: pdu.DataSMResp, MessageID: "x", TLVs: pdu.TLVs{pdu.Uint8TLV(pdu.TagMessageState, 2)}},
		&pdu.Multi{Message: pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{Addr: "4670"}, RegisteredDelivery: 1, ShortMessage: []byte("hello")},
			Dests: []pdu.Dest{{Flag: pdu.DestSME, Addr: pdu.Address{TON: 1, NPI: 1, Addr: "4671"}}, {Flag: pdu.DestList, DLName: "friends"}}},
		&pdu.MultiResp{MessageID: "m1", Unsuccess: []pdu.Unsuccess{{Addr: pdu.Address{Addr: "4672"}, Status: pdu.StatusInvalidDestAddr}}},
		&pdu.Data{Source: pdu.Address{Addr: strings.Repeat("1", 64)}, Dest: pdu.Address{Addr: "2"}, DataCoding: 0,
			TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: bytes.Repeat([]byte("a"), 1000)}}},
		&pdu.Query{MessageID: "q1", Source: pdu.Address{Addr: "4670"}},
		&pdu.QueryResp{MessageID: "q1", FinalDate: "261207120000000+", MessageState: pdu.StateDelivered},
		&pdu.Empty{ID: pdu.UnbindResp},
	}
	for _, b := range bodies {
		raw, err := pdu.Marshal(0, 42, b)
		if err != nil {
			t.Fatalf("%s: %v", b.Command(), err)
		}
		p, err := pdu.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", b.Command(), err)
		}
		if !reflect.DeepEqual(p.Body, b) {
			t.Errorf("%s: decoded %+v, want %+v", b.Command(), p.Body, b)
		}
	}
}

// What cannot be encoded is refused, not written broken.
func TestEncodingRefusesWhatWouldNotDecode(t *testing.T) {
	for name, b := range map[string]pdu.Body{
		"system_id too long": &pdu.Bind{ID: pdu.BindTransceiver, SystemID: strings.Repeat("s", 16)},
		"NUL in an address":  &pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{Addr: "12\x0034"}},
		"255 octets":         &pdu.SM{ID: pdu.SubmitSM, ShortMessage: make([]byte, 255)},
		"bad time":           &pdu.SM{ID: pdu.SubmitSM, ValidityPeriod: "tomorrow"},
		"no destination":     &pdu.Multi{},
		"fixed TLV length":   &pdu.SM{ID: pdu.SubmitSM, TLVs: pdu.TLVs{{Tag: pdu.TagMessageState, Value: []byte{1, 2}}}},
	} {
		if raw, err := pdu.Marshal(0, 1, b); err == nil {
			t.Errorf("%s: encoded %x", name, raw)
		}
	}
}

// A PDU Ibiki cannot take names the status to answer with, and the sequence number to answer.
func TestDecodeErrorsNameTheirStatus(t *testing.T) {
	valid := func(b pdu.Body) []byte {
		raw, err := pdu.Marshal(0, 9, b)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	withLength := func(raw []byte) []byte {
		n := len(raw)
		raw[0], raw[1], raw[2], raw[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return raw
	}
	submit := valid(&pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{Addr: "1"}, Dest: pdu.Address{Addr: "2"}, ShortMessage: []byte("hey")})
	// The offset of sm_length in that submit_sm: header, service_type NUL, 2+2, 2+2, 3, 2 NULs, 4.
	smLen := pdu.HeaderLen + 1 + 4 + 4 + 3 + 2 + 4
	longSource := withLength(append(unhex(t, "00000000 00000004 00000000 00000009 00 01 01"), []byte(strings.Repeat("9", 30)+"\x00")...))
	cases := []struct {
		name   string
		raw    []byte
		status pdu.Status
		field  string
	}{
		{"unknown command", unhex(t, "00000010 000000ff 00000000 00000009"), pdu.StatusInvalidCmdID, ""},
		{"length says more", append(unhex(t, "00000011 00000015 00000000 00000009"), 0), pdu.StatusInvalidCmdLen, ""},
		{"length mismatch", unhex(t, "00000020 00000015 00000000 00000009"), pdu.StatusInvalidCmdLen, ""},
		{"body on enquire_link", withLength(append(unhex(t, "00000000 00000015 00000000 00000009"), 1, 2)), pdu.StatusInvalidCmdLen, ""},
		{"submit_sm cut short", withLength(bytes.Clone(submit[:smLen-4])), pdu.StatusInvalidCmdLen, "registered_delivery"},
		{"sm_length past the end", func() []byte { b := bytes.Clone(submit); b[smLen] = 200; return b }(), pdu.StatusInvalidMsgLen, "short_message"},
		{"sm_length 255", func() []byte { b := bytes.Clone(submit); b[smLen] = 255; return b }(), pdu.StatusInvalidMsgLen, "sm_length"},
		{"source_addr over 20", longSource, pdu.StatusInvalidSourceAddr, "source_addr"},
		{"TLV cut", withLength(append(bytes.Clone(submit), 0x02, 0x0c, 0x00)), pdu.StatusInvalidTLVStream, "tlv"},
		{"TLV length past the end", withLength(append(bytes.Clone(submit), 0x04, 0x24, 0x00, 0x09, 1)), pdu.StatusInvalidTLVLength, "tlv 0x0424"},
		{"fixed TLV of a wrong length", withLength(append(bytes.Clone(submit), 0x04, 0x27, 0x00, 0x02, 1, 2)), pdu.StatusInvalidTLVLength, "tlv 0x0427"},
		{"bind without address_range", withLength(unhex(t, "00000000 00000009 00000000 00000009 6100 6200 00 34 00 00")), pdu.StatusInvalidCmdLen, "address_range"},
		{"submit_multi without destinations", withLength(unhex(t, "00000000 00000021 00000000 00000009 00 0000 00 00")), pdu.StatusInvalidNumDests, "number_of_dests"},
		{"submit_multi bad dest_flag", withLength(unhex(t, "00000000 00000021 00000000 00000009 00 0000 00 01 07")), pdu.StatusInvalidDestFlag, "dest_flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pdu.Decode(c.raw)
			var e *pdu.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want a *pdu.Error", err)
			}
			if e.Status != c.status || e.Field != c.field || e.Header.Seq != 9 || e.Fatal {
				t.Fatalf("got %s field %q seq %d fatal %v (%v), want %s field %q seq 9", e.Status, e.Field, e.Header.Seq, e.Fatal, e, c.status, c.field)
			}
		})
	}
	// A response refusing its request may come without a body.
	p, err := pdu.Decode(unhex(t, "00000010 80000004 00000058 00000009"))
	if err != nil || p.Status != pdu.StatusThrottled || p.Body.(*pdu.SMResp).MessageID != "" {
		t.Fatalf("bodiless submit_sm_resp: %+v, %v", p, err)
	}
}

// Read frames PDUs: a length under the header's loses the stream (fatal); one over the limit is
// skipped so that the next PDU reads.
func TestReadFramesPDUs(t *testing.T) {
	link := unhex(t, "00000010 00000015 00000000 00000001")
	huge := append(unhex(t, "00000040 00000004 00000000 00000002"), make([]byte, 48)...)
	r := bytes.NewReader(append(append(append([]byte(nil), link...), huge...), link...))
	if b, err := pdu.Read(r, 32); err != nil || !bytes.Equal(b, link) {
		t.Fatalf("first: %x, %v", b, err)
	}
	_, err := pdu.Read(r, 32)
	var e *pdu.Error
	if !errors.As(err, &e) || e.Fatal || e.Status != pdu.StatusInvalidCmdLen || e.Header.Seq != 2 {
		t.Fatalf("over the limit: %v", err)
	}
	if b, err := pdu.Read(r, 32); err != nil || !bytes.Equal(b, link) {
		t.Fatalf("after the skipped one: %x, %v", b, err)
	}
	if _, err := pdu.Read(r, 32); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	_, err = pdu.Read(bytes.NewReader(unhex(t, "00000008 00000015")), 0)
	if !errors.As(err, &e) || !e.Fatal {
		t.Fatalf("length 8: %v, want fatal", err)
	}
	if _, err := pdu.Read(bytes.NewReader(link[:10]), 0); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut: %v", err)
	}
}

func TestCommandNamesAndResponses(t *testing.T) {
	if pdu.SubmitSM.Resp() != pdu.SubmitSMResp || pdu.BindTransceiver.Resp() != pdu.BindTransceiverResp ||
		pdu.Outbind.Resp() != pdu.GenericNack || pdu.CommandID(0x55).Resp() != pdu.GenericNack {
		t.Fatal("Resp")
	}
	if pdu.DeliverSM.String() != "deliver_sm" || pdu.StatusThrottled.String() != "ESME_RTHROTTLED" || pdu.CommandID(0x55).String() != "command_0x00000055" {
		t.Fatal("names")
	}
}

func TestReceipts(t *testing.T) {
	text := "id:000000000A sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:Hello id: world"
	r, err := pdu.ParseReceipt(&pdu.SM{ID: pdu.DeliverSM, ESMClass: pdu.ESMClassReceipt, ShortMessage: []byte(text)})
	if err != nil {
		t.Fatal(err)
	}
	want := pdu.Receipt{ID: "000000000A", Submitted: 1, Delivered: 1, SubmitDate: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC),
		DoneDate: time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC), Stat: "DELIVRD", State: pdu.StateDelivered, Err: "000", Text: "Hello id: world"}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
	if got := want.Format(); got != text {
		t.Fatalf("Format = %q\nwant     %q", got, text)
	}
	long := pdu.Receipt{ID: "1", State: pdu.StateExpired, Text: strings.Repeat("é", 30)}
	if got := long.Format(); !strings.HasSuffix(got, "stat:EXPIRED err:000 text:"+strings.Repeat("é", 20)) {
		t.Fatalf("Format = %q", got)
	}
	// The TLVs win over the text; keys in another order and case.
	r, err = pdu.ParseReceipt(&pdu.SM{ID: pdu.DeliverSM, ShortMessage: []byte("STAT:UNDELIV ERR:034 ID:77"),
		TLVs: pdu.TLVs{pdu.CStringTLV(pdu.TagReceiptedMessageID, "4d"), pdu.Uint8TLV(pdu.TagMessageState, pdu.StateRejected)}})
	if err != nil || r.ID != "4d" || r.State != pdu.StateRejected || r.Stat != "UNDELIV" || r.Err != "034" {
		t.Fatalf("TLVs: %+v, %v", r, err)
	}
	// Bytes that are not UTF-8 before and inside the values keep their places.
	r, err = pdu.ParseReceipt(&pdu.SM{ID: pdu.DeliverSM, ShortMessage: []byte("\xff\xff\xff\xff\xff\xff\xff\xff id:12 stat:DELIVRD text:\xe9t\xe9 err:0")})
	if err != nil || r.ID != "12" || r.State != pdu.StateDelivered || r.Text != "\xe9t\xe9 err:0" {
		t.Fatalf("Latin-1 receipt: %+v, %v", r, err)
	}
	// A submit_sm_resp with TLVs after its message_id (SMPP 5.0 SMSCs) keeps its id.
	raw, err := pdu.Marshal(0, 3, &pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: "77", TLVs: pdu.TLVs{pdu.CStringTLV(0x001D, "ok")}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := pdu.Decode(raw); err != nil || p.Body.(*pdu.SMResp).MessageID != "77" {
		t.Fatalf("submit_sm_resp with TLVs: %+v, %v", p, err)
	}
	for _, bad := range []string{"stat:DELIVRD err:000", "id:12 stat:WHATEVER", ""} {
		if _, err := pdu.ParseReceipt(&pdu.SM{ID: pdu.DeliverSM, ShortMessage: []byte(bad)}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for stat, state := range map[string]byte{"DELIVRD": 2, "EXPIRED": 3, "UNDELIV": 5, "REJECTD": 8, "delivered": 2, "ACCEPTD": 6} {
		if got := pdu.StateOfStat(stat); got != state {
			t.Errorf("StateOfStat(%s) = %d, want %d", stat, got, state)
		}
	}
}

func TestCanonicalIDsMeetAcrossForms(t *testing.T) {
	same := [][2]struct {
		id   string
		form pdu.IDForm
	}{
		{{"0A1B", pdu.IDHex}, {"2587", pdu.IDDecimal}},
		{{"00000a1b", pdu.IDHex}, {"a1b", pdu.IDHex}},
		{{"0002587", pdu.IDDecimal}, {"2587", pdu.IDDecimal}},
		{{" abc-1 ", pdu.IDText}, {"abc-1", pdu.IDText}},
	}
	for _, p := range same {
		a, err := pdu.CanonicalID(p[0].id, p[0].form)
		b, err2 := pdu.CanonicalID(p[1].id, p[1].form)
		if err != nil || err2 != nil || a != b {
			t.Errorf("%q and %q: %q %q (%v %v)", p[0].id, p[1].id, a, b, err, err2)
		}
	}
	if a, _ := pdu.CanonicalID("12345", pdu.IDHex); a == "12345" {
		t.Error("12345 read as hex must not meet 12345 read as decimal")
	}
	for _, bad := range []string{"", "xyz", "-1", "1_000", strings.Repeat("f", 65)} {
		if _, err := pdu.CanonicalID(bad, pdu.IDHex); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestConcatenationHeaders(t *testing.T) {
	p := pdu.Part{Ref: 0x2a, Total: 3, Seq: 2}
	sm := append(pdu.UDH(p), "text"...)
	got, ok, text, err := pdu.SplitUDH(sm)
	if err != nil || !ok || got != p || string(text) != "text" {
		t.Fatalf("8-bit: %+v %v %q %v", got, ok, text, err)
	}
	// 16-bit reference, after another element.
	got, ok, text, err = pdu.SplitUDH(unhex(t, "0a 0a02 0000 0804 1234 0201 41"))
	if err != nil || !ok || got != (pdu.Part{Ref: 0x1234, Total: 2, Seq: 1}) || string(text) != "A" {
		t.Fatalf("16-bit: %+v %v %q %v", got, ok, text, err)
	}
	// A header naming no concatenation.
	if _, ok, text, err := pdu.SplitUDH(unhex(t, "04 0a02 0000 42")); err != nil || ok || string(text) != "B" {
		t.Fatalf("no concatenation: %v %q %v", ok, text, err)
	}
	for _, bad := range []string{"", "09 0003 2a0302", "05 0003 2a03", "05 0003 2a0304 41", "05 0003 2a0000"} {
		if _, _, _, err := pdu.SplitUDH(unhex(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	sar, ok, err := pdu.SARPart(pdu.SARTLVs(pdu.Part{Ref: 0x0102, Total: 2, Seq: 2}))
	if err != nil || !ok || sar != (pdu.Part{Ref: 0x0102, Total: 2, Seq: 2}) {
		t.Fatalf("SAR: %+v %v %v", sar, ok, err)
	}
	if _, ok, err := pdu.SARPart(nil); ok || err != nil {
		t.Fatal("no SAR TLVs")
	}
	if _, _, err := pdu.SARPart(pdu.TLVs{pdu.Uint16TLV(pdu.TagSARMsgRefNum, 1)}); err == nil {
		t.Fatal("incomplete SAR TLVs accepted")
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", time.Time{}, false},
		{"261207130000000+", time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC), false},
		{"261207130000004+", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), false}, // 4 quarters ahead of UTC
		{"261207130000508-", time.Date(2026, 12, 7, 15, 0, 0, 5e8, time.UTC), false},
		{"000001020304000R", now.AddDate(0, 0, 1).Add(2*time.Hour + 3*time.Minute + 4*time.Second), false},
		{"260231120000000+", time.Time{}, true},
		{"261307120000000+", time.Time{}, true},
		{"26120712000000+", time.Time{}, true},
		{"2612071200000a0+", time.Time{}, true},
		{"261207120000000X", time.Time{}, true},
		{"261207120000049+", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := pdu.ParseTime(tt.in, now)
		if (err != nil) != tt.bad || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
