package smpp_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/smpp"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/sms"
)

// sink keeps what the connector stores, and fails as told.
type sink struct {
	mu    sync.Mutex
	got   []string // "from>to body" or "from>to ref/total/seq body"
	fail  error
	parts [][3]int
}

func (s *sink) AcceptInbound(_ context.Context, in provider.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, in.From+">"+in.To+" "+in.Body)
	return nil
}

func (s *sink) AcceptInboundPart(_ context.Context, in provider.Inbound, ref, total, seq int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, in.From+">"+in.To+" "+in.Body)
	s.parts = append(s.parts, [3]int{ref, total, seq})
	return nil
}

// smsc is an SMSC of our own session code, for what node-smpp's simulator cannot send
// (concatenated and binary MO): it takes one bind and hands its session to the test.
func smsc(t *testing.T) (string, <-chan *session.Session) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	out := make(chan *session.Session, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s := session.New(c, session.Options{EnquireLink: -1, Handle: func(_ context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
			if b, ok := p.Body.(*pdu.Bind); ok {
				return pdu.StatusOK, &pdu.BindResp{ID: b.ID.Resp(), SystemID: "FAKE"}
			}
			return pdu.StatusOK, nil
		}})
		t.Cleanup(s.Close)
		time.Sleep(100 * time.Millisecond) // the bind's response is out before the test sends
		out <- s
	}()
	return l.Addr().String(), out
}

// Mobile-originated deliver_sm: decoded by data_coding, addresses written as Ibiki writes them,
// concatenated parts (UDH, 8- or 16-bit reference, or SAR TLVs) handed over as parts; answered
// ESME_ROK once stored, ESME_RX_T_APPN when storing failed (the SMSC delivers again),
// ESME_RX_P_APPN for binary data or a message the pipeline refuses for good.
func TestMobileOriginatedMessages(t *testing.T) {
	addr, sessions := smsc(t)
	k := &sink{}
	c := smpp.New(smpp.Config{Name: "smsc", Address: addr, SystemID: "ibiki", Inbound: k, Region: "SE",
		Reconnect: 50 * time.Millisecond})
	c.Start(context.Background())
	defer c.Close()
	var s *session.Session
	select {
	case s = <-sessions:
	case <-time.After(5 * time.Second):
		t.Fatal("no bind")
	}
	gsm := func(text string) []byte { b, _ := sms.EncodeGSM7(text); return b }
	deliver := func(sm *pdu.SM) pdu.Status {
		t.Helper()
		sm.ID = pdu.DeliverSM
		p, err := s.Request(t.Context(), sm)
		if err != nil {
			t.Fatal(err)
		}
		return p.Status
	}
	intl := pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "46700000003"}
	short := pdu.Address{Addr: "57675"}
	cases := []struct {
		name string
		sm   *pdu.SM
		want pdu.Status
		got  string
		part [3]int
	}{
		{"GSM-7", &pdu.SM{Source: intl, Dest: short, ShortMessage: gsm("BAL €")}, pdu.StatusOK, "+46700000003>57675 BAL €", [3]int{}},
		{"national number", &pdu.SM{Source: pdu.Address{TON: pdu.TONNational, Addr: "0701234567"}, Dest: short, ShortMessage: gsm("hej")},
			pdu.StatusOK, "+46701234567>57675 hej", [3]int{}},
		{"UCS-2", &pdu.SM{Source: intl, Dest: short, DataCoding: 8, ShortMessage: sms.EncodeUCS2("Привет 😀")}, pdu.StatusOK,
			"+46700000003>57675 Привет 😀", [3]int{}},
		{"Latin-1", &pdu.SM{Source: intl, Dest: short, DataCoding: 3, ShortMessage: []byte("caf\xe9")}, pdu.StatusOK,
			"+46700000003>57675 café", [3]int{}},
		{"message_payload", &pdu.SM{Source: intl, Dest: short, TLVs: pdu.TLVs{{Tag: pdu.TagMessagePayload, Value: gsm("long one")}}},
			pdu.StatusOK, "+46700000003>57675 long one", [3]int{}},
		{"UDH part", &pdu.SM{Source: intl, Dest: short, ESMClass: pdu.ESMClassUDHI,
			ShortMessage: append(pdu.UDH(pdu.Part{Ref: 0x2a, Total: 2, Seq: 2}), gsm("second")...)}, pdu.StatusOK,
			"+46700000003>57675 second", [3]int{0x2a, 2, 2}},
		{"16-bit UDH part", &pdu.SM{Source: intl, Dest: short, ESMClass: pdu.ESMClassUDHI,
			ShortMessage: append([]byte{6, 8, 4, 0x12, 0x34, 3, 1}, gsm("first")...)}, pdu.StatusOK,
			"+46700000003>57675 first", [3]int{0x1234, 3, 1}},
		{"SAR part", &pdu.SM{Source: intl, Dest: short, ShortMessage: gsm("sar"), TLVs: pdu.SARTLVs(pdu.Part{Ref: 0x0102, Total: 2, Seq: 1})},
			pdu.StatusOK, "+46700000003>57675 sar", [3]int{0x0102, 2, 1}},
		{"binary", &pdu.SM{Source: intl, Dest: short, DataCoding: 4, ShortMessage: []byte{1, 2}}, pdu.StatusPermAppError, "", [3]int{}},
		{"broken UDH", &pdu.SM{Source: intl, Dest: short, ESMClass: pdu.ESMClassUDHI, ShortMessage: []byte{9, 0}}, pdu.StatusPermAppError, "", [3]int{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k.mu.Lock()
			k.got, k.parts = nil, nil
			k.mu.Unlock()
			if st := deliver(tc.sm); st != tc.want {
				t.Fatalf("answered %s, want %s", st, tc.want)
			}
			k.mu.Lock()
			defer k.mu.Unlock()
			if tc.got == "" {
				if len(k.got) != 0 {
					t.Fatalf("stored %v", k.got)
				}
				return
			}
			if len(k.got) != 1 || k.got[0] != tc.got {
				t.Fatalf("stored %q, want %q", k.got, tc.got)
			}
			if tc.part != ([3]int{}) && (len(k.parts) != 1 || k.parts[0] != tc.part) {
				t.Fatalf("part %v, want %v", k.parts, tc.part)
			}
		})
	}
	k.mu.Lock()
	k.fail = errors.New("database down")
	k.mu.Unlock()
	if st := deliver(&pdu.SM{Source: intl, Dest: short, ShortMessage: gsm("later")}); st != pdu.StatusTempAppError {
		t.Fatalf("storing failed: answered %s, want ESME_RX_T_APPN", st)
	}
	k.mu.Lock()
	k.fail = &provider.FieldError{Field: "body", Reason: "not text"}
	k.mu.Unlock()
	if st := deliver(&pdu.SM{Source: intl, Dest: short, ShortMessage: gsm("never")}); st != pdu.StatusPermAppError {
		t.Fatalf("refused for good: answered %s, want ESME_RX_P_APPN", st)
	}
}
