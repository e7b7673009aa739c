package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
)

// SMPPOptions shape a `bench smpp` run.
type SMPPOptions struct {
	Addr     string // the SMPP server's host:port
	Binds    int    // transceiver binds
	Window   int    // submit_sm in flight per bind
	Messages int    // submit_sm to send
}

// SMPPReport is the outcome of a `bench smpp` run: submit_sm into Ibiki's SMPP server with
// registered_delivery, and the delivery receipts that come back over the same binds once the
// server's provider reported the messages.
type SMPPReport struct {
	Binds, Window             int
	Submitted, Accepted       int64
	Refused                   map[string]int64
	SubmitSeconds             float64
	AcceptedPerSec            float64
	SubmitP50, SubmitP99      time.Duration
	Receipts, ReceiptsUnknown int64
	// EndToEndSeconds is from the first submit to the last receipt; ReceiptsPerSec the rate
	// over it.
	EndToEndSeconds   float64
	ReceiptsPerSec    float64
	DLRP50, DLRP99    time.Duration
	DLRMax            time.Duration
	MissingAfterDrain int64
}

// SMPP runs the SMPP bench: it creates the bench client (credits, an SMPP login), binds
// opt.Binds transceivers, submits Messages as fast as the windows allow, and waits (up to
// opt.Drain) for every accepted message's receipt.
func SMPP(ctx context.Context, opt Options, so SMPPOptions) (SMPPReport, error) {
	r := newRun(opt)
	if _, err := r.sendingClient(ctx, ""); err != nil {
		return SMPPReport{}, err
	}
	var login struct{ Password string }
	if err := r.admin(ctx, "POST", "/admin/v1/clients/"+opt.Client+"/smpp-password",
		map[string]any{"max_binds": so.Binds}, &login, http.StatusOK); err != nil {
		return SMPPReport{}, err
	}
	var (
		mu       sync.Mutex
		sentAt   = make(map[string]time.Time, so.Messages)
		dlr      []time.Duration
		lat      []time.Duration
		refused  = map[string]int64{}
		unknown  atomic.Int64
		receipts atomic.Int64
		lastDLR  atomic.Int64
	)
	onDeliver := func(_ context.Context, _ *session.Session, p pdu.PDU) (pdu.Status, pdu.Body) {
		sm, ok := p.Body.(*pdu.SM)
		if !ok || p.ID != pdu.DeliverSM || !sm.IsReceipt() {
			return pdu.StatusOK, &pdu.SMResp{ID: pdu.DeliverSMResp}
		}
		now := time.Now()
		rc, err := pdu.ParseReceipt(sm)
		mu.Lock()
		at, known := sentAt[rc.ID]
		if err == nil && known {
			delete(sentAt, rc.ID)
			dlr = append(dlr, now.Sub(at))
		}
		mu.Unlock()
		if err != nil || !known {
			unknown.Add(1)
		} else {
			receipts.Add(1)
			lastDLR.Store(now.UnixNano())
		}
		return pdu.StatusOK, &pdu.SMResp{ID: pdu.DeliverSMResp}
	}
	var sessions []*session.Session
	defer func() {
		for _, s := range sessions {
			_ = s.Unbind(context.Background())
		}
	}()
	for range so.Binds {
		conn, err := net.Dial("tcp", so.Addr)
		if err != nil {
			return SMPPReport{}, fmt.Errorf("bench smpp: dial %s (is IBIKI_SMPP_ADDR set?): %w", so.Addr, err)
		}
		s := session.New(conn, session.Options{Window: so.Window, Timeout: 30 * time.Second, Handle: onDeliver, Handlers: 4})
		sessions = append(sessions, s)
		if _, err := s.Bind(ctx, &pdu.Bind{ID: pdu.BindTransceiver, SystemID: opt.Client, Password: login.Password,
			InterfaceVersion: 0x34}); err != nil {
			return SMPPReport{}, fmt.Errorf("bench smpp: bind: %w", err)
		}
	}
	fmt.Fprintf(opt.Log, "bench smpp: %d binds up, window %d; submitting %d messages\n", so.Binds, so.Window, so.Messages)
	var (
		next     atomic.Int64
		accepted atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for _, s := range sessions {
		for range so.Window {
			wg.Go(func() {
				for ctx.Err() == nil {
					n := next.Add(1)
					if n > int64(so.Messages) {
						return
					}
					sm := &pdu.SM{ID: pdu.SubmitSM, Dest: pdu.Address{TON: pdu.TONInternational, NPI: pdu.NPIISDN,
						Addr: fmt.Sprintf("1555%07d", n%10_000_000)}, RegisteredDelivery: 1, ShortMessage: []byte("bench " + r.prefix)}
					t0 := time.Now()
					p, err := s.Request(ctx, sm)
					d := time.Since(t0)
					mu.Lock()
					switch resp, _ := p.Body.(*pdu.SMResp); {
					case err != nil:
						refused["unanswered"]++
					case p.Status != pdu.StatusOK || resp == nil:
						refused[p.Status.String()]++
					default:
						if _, done := sentAt[resp.MessageID]; !done {
							sentAt[resp.MessageID] = t0
						}
						lat = append(lat, d)
						accepted.Add(1)
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	submitDur := time.Since(start)
	fmt.Fprintf(opt.Log, "bench smpp: %d accepted in %.1fs; waiting for receipts\n", accepted.Load(), submitDur.Seconds())
	deadline := time.Now().Add(opt.Drain)
	for receipts.Load() < accepted.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	rep := SMPPReport{Binds: so.Binds, Window: so.Window, Submitted: min(next.Load(), int64(so.Messages)), Accepted: accepted.Load(),
		Refused: refused, SubmitSeconds: submitDur.Seconds(), Receipts: receipts.Load(), ReceiptsUnknown: unknown.Load()}
	rep.AcceptedPerSec = float64(rep.Accepted) / submitDur.Seconds()
	mu.Lock()
	rep.SubmitP50, rep.SubmitP99, _ = percentiles(lat)
	rep.DLRP50, rep.DLRP99, rep.DLRMax = percentiles(dlr)
	rep.MissingAfterDrain = int64(len(sentAt))
	mu.Unlock()
	if last := lastDLR.Load(); last > 0 {
		rep.EndToEndSeconds = time.Unix(0, last).Sub(start).Seconds()
		rep.ReceiptsPerSec = float64(rep.Receipts) / rep.EndToEndSeconds
	}
	return rep, nil
}

// Write prints the report.
func (rep SMPPReport) Write(w io.Writer) {
	fmt.Fprintf(w, "binds %d, window %d\n", rep.Binds, rep.Window)
	fmt.Fprintf(w, "submit_sm: %d submitted, %d accepted in %.2fs = %.0f/s (submit_sm_resp p50 %s, p99 %s); refused %v\n",
		rep.Submitted, rep.Accepted, rep.SubmitSeconds, rep.AcceptedPerSec, ms(rep.SubmitP50), ms(rep.SubmitP99), rep.Refused)
	fmt.Fprintf(w, "receipts: %d of %d back, last %.2fs after the first submit = %.0f/s end to end (submit→receipt p50 %s, p99 %s, max %s); %d missing, %d unknown\n",
		rep.Receipts, rep.Accepted, rep.EndToEndSeconds, rep.ReceiptsPerSec, ms(rep.DLRP50), ms(rep.DLRP99), ms(rep.DLRMax),
		rep.MissingAfterDrain, rep.ReceiptsUnknown)
}
