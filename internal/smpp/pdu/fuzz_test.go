package pdu_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
)

// FuzzDecode: whatever a peer sends, decoding never panics, and what it takes encodes back to
// octets that decode to the same PDU (a server answers from what it decoded).
func FuzzDecode(f *testing.F) {
	for _, b := range []pdu.Body{
		&pdu.Bind{ID: pdu.BindTransceiver, SystemID: "c", Password: "p", InterfaceVersion: 0x34},
		&pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{TON: 1, NPI: 1, Addr: "4670"}, Dest: pdu.Address{Addr: "1"},
			ESMClass: pdu.ESMClassUDHI, ShortMessage: append(pdu.UDH(pdu.Part{Ref: 1, Total: 2, Seq: 1}), "hi"...),
			TLVs: pdu.SARTLVs(pdu.Part{Ref: 1, Total: 2, Seq: 1})},
		&pdu.SM{ID: pdu.DeliverSM, ESMClass: pdu.ESMClassReceipt, ShortMessage: []byte("id:1 stat:DELIVRD"),
			TLVs: pdu.TLVs{pdu.CStringTLV(pdu.TagReceiptedMessageID, "1"), pdu.Uint8TLV(pdu.TagMessageState, 2)}},
		&pdu.Multi{Message: pdu.SM{ID: pdu.SubmitSM}, Dests: []pdu.Dest{{Flag: pdu.DestSME, Addr: pdu.Address{Addr: "1"}}, {Flag: pdu.DestList, DLName: "l"}}},
		&pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: "0a"},
		&pdu.Data{TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: []byte("payload")}}},
		&pdu.Query{MessageID: "1"},
		&pdu.Empty{ID: pdu.EnquireLink},
	} {
		raw, err := pdu.Marshal(0, 1, b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := pdu.Decode(raw)
		if err != nil {
			if _, ok := err.(*pdu.Error); !ok {
				t.Fatalf("error %T %v is not a *pdu.Error", err, err)
			}
			return
		}
		again, err := pdu.Marshal(p.Status, p.Seq, p.Body)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", p.Body, err)
		}
		q, err := pdu.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", again, err)
		}
		if q.Header.ID != p.Header.ID || q.Seq != p.Seq || q.Status != p.Status || !reflect.DeepEqual(q.Body, p.Body) {
			t.Fatalf("round trip changed %+v into %+v", p.Body, q.Body)
		}
		if sm, ok := p.Body.(*pdu.SM); ok {
			_, _ = pdu.ParseReceipt(sm)
			if sm.ESMClass&pdu.ESMClassUDHI != 0 {
				_, _, _, _ = pdu.SplitUDH(sm.ShortMessage)
			}
			_, _, _ = pdu.SARPart(sm.TLVs)
		}
	})
}

// FuzzParseReceipt: a receipt's text is the SMSC's (Latin-1, UCS-2 read as bytes, anything):
// reading it never panics, and an id it reads is part of the text (or of the TLV).
func FuzzParseReceipt(f *testing.F) {
	for _, s := range []string{"id:1 sub:001 dlvrd:001 submit date:2612071200 done date:2612071201 stat:DELIVRD err:000 text:hi",
		"\xff\xff id:12 stat:DELIVRD", "ID:0a STAT:undeliv ERR:0 TEXT:\xe9", "text:id: stat:", "submit date:id:x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		r, err := pdu.ParseReceipt(&pdu.SM{ID: pdu.DeliverSM, ShortMessage: text})
		if err == nil && !bytes.Contains(text, []byte(r.ID)) {
			t.Fatalf("id %q is not in %q", r.ID, text)
		}
	})
}
