package smsc_test

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/smsc"
)

// panics counts the log records of handler panics (the session recovers them: the fuzz target
// wants none at all).
type panics struct{ n atomic.Int64 }

func (p *panics) Enabled(context.Context, slog.Level) bool { return true }
func (p *panics) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panicked") {
		p.n.Add(1)
	}
	return nil
}
func (p *panics) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panics) WithGroup(string) slog.Handler      { return p }

// FuzzServerSession: a bound client sends the server one PDU of any command and body (framed
// right); the server neither panics nor drops the session: the enquire_link after it is
// answered (unless the PDU was an unbind, which ends the session as it should).
func FuzzServerSession(f *testing.F) {
	seeds := []pdu.Body{
		&pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{TON: 3, Addr: "12345"}, Dest: pdu.Address{TON: 1, NPI: 1, Addr: "15552090001"},
			ESMClass: pdu.ESMClassUDHI, ShortMessage: append(pdu.UDH(pdu.Part{Ref: 1, Total: 2, Seq: 1}), "hi"...)},
		&pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{Addr: "5552090001"}, DataCoding: 8, ShortMessage: []byte{0xD8, 0x3D},
			ScheduleDeliveryTime: "000000000100000R", RegisteredDelivery: 1},
		&pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{Addr: "5552090001"}, TLVs: pdu.SARTLVs(pdu.Part{Ref: 9, Total: 3, Seq: 3})},
		&pdu.Multi{Message: pdu.SM{ID: pdu.SubmitSM, ShortMessage: []byte("x")}, Dests: []pdu.Dest{{Flag: pdu.DestSME, Addr: pdu.Address{Addr: "1"}},
			{Flag: pdu.DestList, DLName: "l"}}},
		&pdu.SM{ID: pdu.DeliverSM, ShortMessage: []byte("from a client?")},
		&pdu.Bind{ID: pdu.BindTransceiver, SystemID: "acme", Password: "x", InterfaceVersion: 0x34},
		&pdu.Data{TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: []byte("payload")}}},
		&pdu.Query{MessageID: "1"},
		&pdu.SMResp{ID: pdu.SubmitSMResp, MessageID: "a response nobody asked"},
	}
	for _, b := range seeds {
		raw, err := pdu.Marshal(0, 1, b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(binary.BigEndian.Uint32(raw[4:]), raw[16:])
	}
	f.Add(uint32(0x77), []byte{1, 2, 3})
	f.Add(uint32(pdu.SubmitSM), []byte{})
	counted := &panics{}
	ib := start(f, "", map[string]any{"max_binds": 64}, func(s *smsc.Server) { s.Log = slog.New(counted) })
	f.Fuzz(func(t *testing.T, id uint32, body []byte) {
		if len(body) > 4096 {
			return
		}
		conn, err := net.Dial("tcp", ib.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		bind, _ := pdu.Marshal(0, 1, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "acme", Password: ib.password, InterfaceVersion: 0x34})
		raw := make([]byte, 16, 16+len(body))
		binary.BigEndian.PutUint32(raw, uint32(16+len(body)))
		binary.BigEndian.PutUint32(raw[4:], id)
		binary.BigEndian.PutUint32(raw[12:], 2)
		raw = append(raw, body...)
		enquire, _ := pdu.Marshal(0, 3, &pdu.Empty{ID: pdu.EnquireLink})
		if _, err := conn.Write(append(append(bind, raw...), enquire...)); err != nil {
			t.Fatal(err)
		}
		for {
			resp, err := pdu.Read(conn, 0)
			if pdu.CommandID(id) == pdu.Unbind {
				return // the session ends, as it should
			}
			if err == io.EOF || err != nil {
				t.Fatalf("the session ended after command 0x%08x (%x): %v", id, body, err)
			}
			if h := binary.BigEndian.Uint32(resp[12:]); h == 3 && pdu.CommandID(binary.BigEndian.Uint32(resp[4:])) == pdu.EnquireLinkResp {
				break
			}
		}
		if n := counted.n.Load(); n > 0 {
			t.Fatalf("%d handler panics", n)
		}
	})
}
