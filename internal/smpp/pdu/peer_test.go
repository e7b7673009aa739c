package pdu_test

import (
	"bufio"
	"net"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/smpptest"
)

// peer is a bare SMPP connection speaking through this package's codec only.
type peer struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	seq uint32
}

func dial(t *testing.T, addr string) *peer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &peer{t: t, c: c, r: bufio.NewReader(c)}
}

func (p *peer) send(status pdu.Status, seq uint32, b pdu.Body) uint32 {
	p.t.Helper()
	if seq == 0 {
		p.seq++
		seq = p.seq
	}
	raw, err := pdu.Marshal(status, seq, b)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.c.Write(raw); err != nil {
		p.t.Fatal(err)
	}
	return seq
}

func (p *peer) recv() pdu.PDU {
	p.t.Helper()
	_ = p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, err := pdu.Read(p.r, 0)
	if err != nil {
		p.t.Fatalf("read: %v", err)
	}
	got, err := pdu.Decode(raw)
	if err != nil {
		p.t.Fatalf("decode %x: %v", raw, err)
	}
	return got
}

// The codec against node-smpp's SMSC (a third-party implementation, ../shared/smpp): binds
// (a wrong password refused with ESME_RBINDFAIL), submit_sm answered with a message id, the
// delivery receipt read from its text and TLVs and matched to that id, enquire_link, a
// mobile-originated deliver_sm, unbind.
func TestTheCodecAgainstNodeSMPP(t *testing.T) {
	sim := smpptest.StartSim(t, "SYSTEM_ID=ibiki", "PASSWORD=secret", "DLR_DELAY_MS=50", "DLR_STAT=UNDELIV")

	wrong := dial(t, sim.Addr)
	wrong.send(0, 0, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "ibiki", Password: "nope", InterfaceVersion: 0x34})
	if r := wrong.recv(); r.ID != pdu.BindTransceiverResp || r.Status != pdu.StatusBindFailed {
		t.Fatalf("wrong password: %s %s, want bind_transceiver_resp ESME_RBINDFAIL", r.ID, r.Status)
	}

	p := dial(t, sim.Addr)
	seq := p.send(0, 0, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "ibiki", Password: "secret", InterfaceVersion: 0x34})
	r := p.recv()
	if r.ID != pdu.BindTransceiverResp || r.Status != pdu.StatusOK || r.Seq != seq || r.Body.(*pdu.BindResp).SystemID != "SMSCSIM" {
		t.Fatalf("bind: %+v %+v", r.Header, r.Body)
	}

	seq = p.send(0, 0, &pdu.SM{ID: pdu.SubmitSM, Source: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "46700000001"},
		Dest: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN, Addr: "46700000002"}, RegisteredDelivery: 1,
		ShortMessage: []byte("Hello from Ibiki")})
	r = p.recv()
	resp, ok := r.Body.(*pdu.SMResp)
	if r.ID != pdu.SubmitSMResp || r.Status != pdu.StatusOK || r.Seq != seq || !ok || !regexp.MustCompile(`^[0-9a-f]{10}$`).MatchString(resp.MessageID) {
		t.Fatalf("submit_sm_resp: %+v %+v", r.Header, r.Body)
	}

	r = p.recv()
	dlr, ok := r.Body.(*pdu.SM)
	if r.ID != pdu.DeliverSM || !ok || !dlr.IsReceipt() {
		t.Fatalf("want a receipt, got %+v %+v", r.Header, r.Body)
	}
	p.send(0, r.Seq, &pdu.SMResp{ID: pdu.DeliverSMResp})
	rc, err := pdu.ParseReceipt(dlr)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := pdu.CanonicalID(resp.MessageID, pdu.IDHex)
	b, _ := pdu.CanonicalID(rc.ID, pdu.IDHex)
	if a != b || rc.State != pdu.StateUndeliverable || rc.Stat != "UNDELIV" || rc.Text != "Hello from Ibiki" || rc.SubmitDate.IsZero() {
		t.Fatalf("receipt %+v for message %s", rc, resp.MessageID)
	}
	if dlr.Source.Addr != "46700000002" || dlr.Dest.Addr != "46700000001" {
		t.Fatalf("receipt addresses %+v -> %+v", dlr.Source, dlr.Dest)
	}

	seq = p.send(0, 0, &pdu.Empty{ID: pdu.EnquireLink})
	if r = p.recv(); r.ID != pdu.EnquireLinkResp || r.Seq != seq {
		t.Fatalf("enquire_link: %+v", r.Header)
	}

	done := make(chan string, 1)
	go func() {
		_, body, err := sim.Get(t.Context(), "/mo?from="+url.QueryEscape("+46700000003")+"&to=57675&text="+url.QueryEscape("BAL please"))
		if err != nil {
			body = err.Error()
		}
		done <- body
	}()
	r = p.recv()
	mo, ok := r.Body.(*pdu.SM)
	if r.ID != pdu.DeliverSM || !ok || mo.IsReceipt() || string(mo.ShortMessage) != "BAL please" || mo.Source.Addr != "+46700000003" || mo.Dest.Addr != "57675" {
		t.Fatalf("MO: %+v %+v", r.Header, r.Body)
	}
	p.send(0, r.Seq, &pdu.SMResp{ID: pdu.DeliverSMResp})
	if got := <-done; !strings.Contains(got, `"deliver_sm_resp_status":0`) {
		t.Fatalf("the simulator saw: %s", got)
	}

	seq = p.send(0, 0, &pdu.Empty{ID: pdu.Unbind})
	if r = p.recv(); r.ID != pdu.UnbindResp || r.Seq != seq || r.Status != pdu.StatusOK {
		t.Fatalf("unbind: %+v", r.Header)
	}
}
