package smpp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
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
	keys  []string // ProviderMessageID, and the RepeatWindow when set
}

func (s *sink) keep(in provider.Inbound) {
	key := in.ProviderMessageID
	if in.RepeatWindow != 0 {
		key += " within " + in.RepeatWindow.String()
	}
	s.keys = append(s.keys, key)
}

func (s *sink) AcceptInbound(_ context.Context, in provider.Inbound) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, in.From+">"+in.To+" "+in.Body)
	s.keep(in)
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
	s.keep(in)
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

// bound starts a connector on an SMSC of our own and returns the SMSC's side of the bind.
func bound(t *testing.T, cfg smpp.Config) *session.Session {
	t.Helper()
	addr, sessions := smsc(t)
	cfg.Name, cfg.Address, cfg.SystemID, cfg.Reconnect = "smsc", addr, "ibiki", 50*time.Millisecond
	c := smpp.New(cfg)
	c.Start(context.Background())
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-sessions:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no bind")
		return nil
	}
}

// SMPP gives a mobile-originated message no id: the connector names each by what it says (the
// phone, the number, the text, the part, the user_message_reference) with the repeat window, so
// the SMSC delivering it again after a lost deliver_sm_resp is one message (package inbound);
// the same text by another coding is the same message; without a window each is new.
func TestMobileOriginatedRepeatKeys(t *testing.T) {
	k := &sink{}
	s := bound(t, smpp.Config{Inbound: k, Region: "SE", RepeatWindow: 10 * time.Minute})
	intl := pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "46700000003"}
	gsm := func(text string) []byte { b, _ := sms.EncodeGSM7(text); return b }
	umr := func(n byte) pdu.TLVs { return pdu.TLVs{{Tag: pdu.TagUserMessageRef, Value: []byte{0, n}}} }
	delivered := []*pdu.SM{
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES")},                                                        // 0
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES")},                                                        // 1: 0 again
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, DataCoding: 8, ShortMessage: sms.EncodeUCS2("YES")},                              // 2: 0 in UCS-2
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("NO")},                                                         // 3
		{Source: intl, Dest: pdu.Address{Addr: "57676"}, ShortMessage: gsm("YES")},                                                        // 4
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES"), TLVs: umr(1)},                                          // 5
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES"), TLVs: umr(2)},                                          // 6
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES"), TLVs: pdu.SARTLVs(pdu.Part{Ref: 1, Total: 2, Seq: 1})}, // 7
		{Source: intl, Dest: pdu.Address{Addr: "57675"}, ShortMessage: gsm("YES"), TLVs: pdu.SARTLVs(pdu.Part{Ref: 1, Total: 2, Seq: 2})}, // 8
	}
	for i, sm := range delivered {
		sm.ID = pdu.DeliverSM
		if p, err := s.Request(t.Context(), sm); err != nil || p.Status != pdu.StatusOK {
			t.Fatalf("deliver_sm %d: %v %v", i, p.Status, err)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.keys) != len(delivered) {
		t.Fatalf("%d stored", len(k.keys))
	}
	for i, key := range k.keys {
		if !strings.HasPrefix(key, "smo:") || !strings.HasSuffix(key, " within 10m0s") {
			t.Fatalf("key %d = %q", i, key)
		}
		for j, other := range k.keys[:i] {
			if same := i <= 2 && j <= 2; (key == other) != same {
				t.Errorf("deliver_sm %d and %d: keys %q and %q, want same %v", j, i, other, key, same)
			}
		}
	}
}

// Mobile-originated deliver_sm: decoded by data_coding, addresses written as Ibiki writes them,
// concatenated parts (UDH, 8- or 16-bit reference, or SAR TLVs) handed over as parts; answered
// ESME_ROK once stored, ESME_RX_T_APPN when storing failed (the SMSC delivers again),
// ESME_RX_P_APPN for binary data or a message the pipeline refuses for good.
func TestMobileOriginatedMessages(t *testing.T) {
	k := &sink{}
	s := bound(t, smpp.Config{Inbound: k, Region: "SE"})
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

// The providers file's mo_repeat_window: 10 minutes when unset, "0s" for none.
func TestRepeatWindowFromTheProvidersFile(t *testing.T) {
	for fields, want := range map[string]string{``: " within 10m0s", `,"mo_repeat_window":"0s"`: "", `,"mo_repeat_window":"2h"`: " within 2h0m0s"} {
		addr, sessions := smsc(t)
		k := &sink{}
		a, err := smpp.FromEntry(provider.Entry{Name: "smsc", Type: "smpp",
			Fields: json.RawMessage(`{"address":"` + addr + `","system_id":"ibiki"` + fields + `}`)}, provider.Env{Inbound: k})
		if err != nil {
			t.Fatal(err)
		}
		c := a.(*smpp.Connector)
		c.Start(context.Background())
		s := <-sessions
		if p, err := s.Request(t.Context(), &pdu.SM{ID: pdu.DeliverSM, Source: pdu.Address{Addr: "46700000003"},
			Dest: pdu.Address{Addr: "57675"}, ShortMessage: []byte("YES")}); err != nil || p.Status != pdu.StatusOK {
			t.Fatalf("%s: deliver_sm %v %v", fields, p.Status, err)
		}
		c.Close()
		if len(k.keys) != 1 || !strings.HasSuffix(k.keys[0], want) || want == "" && strings.Contains(k.keys[0], "within") {
			t.Errorf("%s: keys %q, want the window %q", fields, k.keys, want)
		}
	}
}
