package smpp_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/smpp"
	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/smpptest"
)

// reports keeps the status reports the connector makes.
type reports struct {
	mu  sync.Mutex
	got []provider.StatusUpdate
}

func (r *reports) ApplyStatus(_ context.Context, name string, us []provider.StatusUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, us...)
	return nil
}

func (r *reports) waitFor(t *testing.T, id string) provider.StatusUpdate {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, u := range r.got {
			if u.ProviderMessageID == id {
				r.mu.Unlock()
				return u
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no report for %s", id)
	return provider.StatusUpdate{}
}

func start(t *testing.T, sim *smpptest.Sim, cfg smpp.Config) (*smpp.Connector, *reports) {
	t.Helper()
	r := &reports{}
	cfg.Name, cfg.Address, cfg.Status = "smsc", sim.Addr, r
	if cfg.SystemID == "" {
		cfg.SystemID = "ibiki"
	}
	cfg.SourceTON, cfg.SourceNPI, cfg.DestTON, cfg.DestNPI = 1, 1, 1, 1
	cfg.Reconnect, cfg.MaxReconnect = 50*time.Millisecond, 200*time.Millisecond
	c := smpp.New(cfg)
	c.Start(context.Background())
	t.Cleanup(func() { _ = c.Close() })
	return c, r
}

func waitBound(t *testing.T, c *smpp.Connector, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Bound() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d binds up, want %d", c.Bound(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type submitted struct {
	From               string `json:"from"`
	To                 string `json:"to"`
	Text               string `json:"text"`
	DataCoding         int    `json:"data_coding"`
	RegisteredDelivery int    `json:"registered_delivery"`
	ESMClass           int    `json:"esm_class"`
}

func stats(t *testing.T, sim *smpptest.Sim) (n int, last []submitted) {
	t.Helper()
	_, body, err := sim.Get(t.Context(), "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		SubmitSM int         `json:"submit_sm"`
		Last     []submitted `json:"last"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return s.SubmitSM, s.Last
}

// A message goes out as submit_sm from the number named, its receipt (the simulator's id, hex)
// comes back as a status report under the id Send gave.
func TestSendAndReceiptAgainstNodeSMPP(t *testing.T) {
	sim := smpptest.StartSim(t, "DLR_DELAY_MS=20")
	c, r := start(t, sim, smpp.Config{Binds: 2, RegisteredDelivery: true, SubmitIDForm: pdu.IDHex, ReceiptIDForm: pdu.IDHex})
	waitBound(t, c, 2)
	res, err := c.Send(t.Context(), provider.Outbound{MessageID: "msg_1", From: "+46700000001", To: "+46700000002", Body: "Hello @ Ibiki €5"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderMessageID == "" || res.Status != model.StatusSent {
		t.Fatalf("result %+v", res)
	}
	if u := r.waitFor(t, res.ProviderMessageID); u.Status != model.StatusDelivered {
		t.Fatalf("report %+v", u)
	}
	// A sender no source_addr can hold fails the message for good, nothing sent.
	_, err = c.Send(t.Context(), provider.Outbound{MessageID: "msg_2", From: "AVeryLongSenderNameIndeed", To: "+46700000002", Body: "x"})
	var se *provider.SendError
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("an unencodable sender: %v, want a permanent refusal", err)
	}
	n, last := stats(t, sim)
	if n != 1 || last[0].From != "46700000001" || last[0].To != "46700000002" || last[0].DataCoding != 0 || last[0].RegisteredDelivery != 1 {
		t.Fatalf("the simulator saw %d: %+v", n, last)
	}
}

// Long messages are cut where sms.Split counts their segments (160/153 GSM-7, 70/67 UCS-2) and
// concatenated by a UDH or by SAR TLVs; only the last part asks for a receipt.
func TestConcatenationAgainstNodeSMPP(t *testing.T) {
	cases := []struct {
		name   string
		sar    bool
		body   string
		coding int
		parts  []int // characters of each part as the simulator read them
		esm    int
	}{
		{"GSM-7 by UDH", false, strings.Repeat("a", 200), 0, []int{153, 47}, 0x40},
		{"GSM-7 at 160", false, strings.Repeat("b", 160), 0, []int{160}, 0},
		{"UCS-2 by UDH", false, strings.Repeat("ж", 100), 8, []int{67, 33}, 0x40},
		{"UCS-2 at 70", false, strings.Repeat("ж", 70), 8, []int{70}, 0},
		{"GSM-7 by SAR", true, strings.Repeat("c", 307), 0, []int{153, 153, 1}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := smpptest.StartSim(t)
			c, _ := start(t, sim, smpp.Config{SAR: tc.sar, RegisteredDelivery: true})
			waitBound(t, c, 1)
			if _, err := c.Send(t.Context(), provider.Outbound{MessageID: "m", From: "IBIKI", To: "+46700000002", Body: tc.body}); err != nil {
				t.Fatal(err)
			}
			n, last := stats(t, sim)
			if n != len(tc.parts) {
				t.Fatalf("%d submits, want %d", n, len(tc.parts))
			}
			var joined string
			for i, s := range last {
				if got := len([]rune(s.Text)); got != tc.parts[i] || s.DataCoding != tc.coding || s.ESMClass != tc.esm ||
					s.From != "IBIKI" || (s.RegisteredDelivery == 1) != (i == len(last)-1) {
					t.Errorf("part %d: %d characters, %+v", i+1, got, s)
				}
				joined += s.Text
			}
			if joined != tc.body {
				t.Fatalf("parts joined are not the body")
			}
		})
	}
}

// Receipts' states become statuses, their error kept.
func TestReceiptStatesAgainstNodeSMPP(t *testing.T) {
	for stat, want := range map[string]model.MessageStatus{"UNDELIV": model.StatusUndelivered, "REJECTD": model.StatusFailed,
		"EXPIRED": model.StatusUndelivered} {
		t.Run(stat, func(t *testing.T) {
			sim := smpptest.StartSim(t, "DLR_DELAY_MS=10", "DLR_STAT="+stat)
			c, r := start(t, sim, smpp.Config{RegisteredDelivery: true})
			waitBound(t, c, 1)
			res, err := c.Send(t.Context(), provider.Outbound{MessageID: "m", From: "+46700000001", To: "+46700000002", Body: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			if u := r.waitFor(t, res.ProviderMessageID); u.Status != want || u.ErrorCode != stat {
				t.Fatalf("report %+v, want %s with code %s", u, want, stat)
			}
		})
	}
}

// With the SMSC gone, a send is refused for later (nothing reached it); the binds come back
// when it does, and the next send goes out once.
func TestReconnectAfterTheSMSCRestarts(t *testing.T) {
	sim := smpptest.StartSim(t)
	c, _ := start(t, sim, smpp.Config{Binds: 2})
	waitBound(t, c, 2)
	sim.Stop()
	waitBound(t, c, 0)
	_, err := c.Send(t.Context(), provider.Outbound{MessageID: "m", From: "+46700000001", To: "+46700000002", Body: "hi"})
	var se *provider.SendError
	if !errors.As(err, &se) || se.Permanent || se.RetryAfter <= 0 {
		t.Fatalf("send with no bind: %v, want a temporary refusal", err)
	}
	sim.Restart(t)
	waitBound(t, c, 2)
	if _, err := c.Send(t.Context(), provider.Outbound{MessageID: "m", From: "+46700000001", To: "+46700000002", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := stats(t, sim); n != 1 {
		t.Fatalf("the restarted simulator saw %d submits, want 1", n)
	}
}

// A wrong password keeps the binds down: sends are refused for later, never lost.
func TestAWrongPasswordKeepsTheBindsDown(t *testing.T) {
	sim := smpptest.StartSim(t, "SYSTEM_ID=ibiki", "PASSWORD=right")
	c, _ := start(t, sim, smpp.Config{Password: "wrong"})
	time.Sleep(300 * time.Millisecond)
	if c.Bound() != 0 {
		t.Fatal("bound with a wrong password")
	}
	_, err := c.Send(t.Context(), provider.Outbound{MessageID: "m", To: "+46700000002", Body: "hi"})
	var se *provider.SendError
	if !errors.As(err, &se) || se.Permanent {
		t.Fatalf("send: %v", err)
	}
}

func TestEntries(t *testing.T) {
	good := `{"address":"127.0.0.1:2775","system_id":"ibiki","password":"pw","binds":4,"window":10,"concatenation":"sar","submit_id":"hex","receipt_id":"decimal","rate":100}`
	a, err := smpp.FromEntry(provider.Entry{Name: "s", Type: "smpp", Fields: json.RawMessage(good)}, provider.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if caps := a.(provider.Sender).Capabilities(); !caps.ChooseSender || caps.Idempotent || caps.MaxPerSecond != 100 {
		t.Fatalf("capabilities %+v", caps)
	}
	for name, fields := range map[string]string{
		"no address":        `{"system_id":"x"}`,
		"no system_id":      `{"address":"127.0.0.1:1"}`,
		"long password":     `{"address":"127.0.0.1:1","system_id":"x","password":"123456789"}`,
		"bad concatenation": `{"address":"127.0.0.1:1","system_id":"x","concatenation":"glue"}`,
		"bad id form":       `{"address":"127.0.0.1:1","system_id":"x","submit_id":"octal"}`,
		"too many binds":    `{"address":"127.0.0.1:1","system_id":"x","binds":65}`,
		"unknown field":     `{"address":"127.0.0.1:1","system_id":"x","sytem_type":"y"}`,
		"negative window":   `{"address":"127.0.0.1:1","system_id":"x","mo_repeat_window":"-1s"}`,
		"window too long":   `{"address":"127.0.0.1:1","system_id":"x","mo_repeat_window":"25h"}`,
		"window too short":  `{"address":"127.0.0.1:1","system_id":"x","mo_repeat_window":"500ms"}`,
	} {
		if _, err := smpp.FromEntry(provider.Entry{Name: "s", Type: "smpp", Fields: json.RawMessage(fields)}, provider.Env{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkSendToNodeSMPP: the connector's Send (segmentation, encoding, submit_sm and its
// response) through 4 binds with a window of 10, from 40 goroutines, against node-smpp's SMSC
// without receipts; reports sends/s.
func BenchmarkSendToNodeSMPP(b *testing.B) {
	sim := smpptest.StartSim(b)
	c := smpp.New(smpp.Config{Name: "smsc", Address: sim.Addr, SystemID: "ibiki", Binds: 4, Window: 10,
		SourceTON: 1, SourceNPI: 1, DestTON: 1, DestNPI: 1})
	c.Start(context.Background())
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Bound() != 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	work := make(chan int, b.N)
	for i := range b.N {
		work <- i
	}
	close(work)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if _, err := c.Send(context.Background(), provider.Outbound{MessageID: "m", From: "+46700000001", To: "+46700000002",
					Body: "Your code is 123456. It expires in 10 minutes."}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
}
