package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// sent is the answer to a send.
type sent struct {
	ID             string   `json:"id"`
	ClientID       string   `json:"client_id"`
	ConversationID string   `json:"conversation_id"`
	Direction      string   `json:"direction"`
	Status         string   `json:"status"`
	To             string   `json:"to"`
	From           string   `json:"from"`
	Body           string   `json:"body"`
	Segments       int      `json:"segments"`
	Encoding       string   `json:"encoding"`
	CostCents      int64    `json:"cost_cents"`
	Provider       string   `json:"provider"`
	ProviderID     *string  `json:"provider_message_id"`
	ErrorCode      *string  `json:"error_code"`
	Channel        string   `json:"channel"`
	NonGSM         []string `json:"non_gsm_characters"`
}

type balance struct {
	BalanceCents int64 `json:"balance_cents"`
	RateCents    int64 `json:"rate_cents"`
}

func topUp(t *testing.T, s *ibikitest.Server, client string, cents int64) {
	t.Helper()
	mustDo(t, s, "POST", "/admin/v1/clients/"+client+"/credits", admin, map[string]any{"amount_cents": cents, "reference": "payment"}, http.StatusOK)
}

func getBalance(t *testing.T, s *ibikitest.Server, key string) balance {
	t.Helper()
	var b balance
	mustDo(t, s, "GET", "/api/v1/balance", key, nil, http.StatusOK).JSON(t, &b)
	return b
}

// ledgerSum adds up a client's whole ledger through the API.
func ledgerSum(t *testing.T, s *ibikitest.Server, key string) (sum int64, n int) {
	t.Helper()
	path := "/api/v1/ledger?limit=100"
	for {
		var pg struct {
			Data []struct {
				AmountCents int64 `json:"amount_cents"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		mustDo(t, s, "GET", path, key, nil, http.StatusOK).JSON(t, &pg)
		for _, e := range pg.Data {
			sum += e.AmountCents
			n++
		}
		if pg.NextCursor == nil {
			return sum, n
		}
		path = "/api/v1/ledger?limit=100&cursor=" + *pg.NextCursor
	}
}

func sendMessage(t *testing.T, s *ibikitest.Server, key string, body any) sent {
	t.Helper()
	var m sent
	mustDo(t, s, "POST", "/api/v1/messages", key, body, http.StatusAccepted).JSON(t, &m)
	return m
}

// waitStatus waits until the API shows the message in the status.
func waitStatus(t *testing.T, s *ibikitest.Server, key, id, status string) sent {
	t.Helper()
	var m sent
	eventually(t, id+" "+status, func() bool {
		mustDo(t, s, "GET", "/api/v1/messages/"+id, key, nil, http.StatusOK).JSON(t, &m)
		return m.Status == status
	})
	return m
}

func TestSendThroughTheSimulator(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "20ms"})
	hook := ibikitest.NewReceiver(t)
	acme := s.CreateClient("acme", hook.URL)
	topUp(t, s, "acme", 100)

	m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "(555) 201-0001", "body": "Your order is ready"})
	if m.Status != "queued" || m.To != "+15552010001" || m.Segments != 1 || m.Encoding != "GSM-7" || m.CostCents != 1 ||
		m.Direction != "outbound" || m.Provider != "simulator" || m.ID == "" || m.ConversationID == "" {
		t.Fatalf("answer = %+v", m)
	}
	got := waitStatus(t, s, acme.APIKey, m.ID, "delivered")
	if got.ProviderID == nil || !strings.HasPrefix(*got.ProviderID, "sim_") {
		t.Errorf("provider id = %v, want the simulator's", got.ProviderID)
	}

	t.Run("every status change reaches the client webhook, signed, in order", func(t *testing.T) {
		var statuses []string
		eventually(t, "three status events", func() bool {
			statuses = statuses[:0]
			for _, r := range hook.Requests() {
				var ev struct {
					Type string `json:"type"`
					Data sent   `json:"data"`
				}
				if json.Unmarshal(r.Body, &ev) == nil && ev.Type == "message.status" && ev.Data.ID == m.ID {
					statuses = append(statuses, ev.Data.Status)
					if err := verifySW(t, acme.WebhookSecret, r); err != nil {
						t.Errorf("signature: %v", err)
					}
				}
			}
			return len(statuses) >= 3
		})
		if !slices.Equal(statuses, []string{"sending", "sent", "delivered"}) {
			t.Errorf("statuses = %v", statuses)
		}
	})
	t.Run("the charge is in the ledger and the balance equals its sum", func(t *testing.T) {
		if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 99 || b.RateCents != 1 {
			t.Errorf("balance = %+v, want 99 at 1 cent a segment", b)
		}
		if sum, n := ledgerSum(t, s, acme.APIKey); sum != 99 || n != 2 {
			t.Errorf("ledger sum %d over %d entries, want 99 over 2", sum, n)
		}
	})
	t.Run("the message is listed, and filters work", func(t *testing.T) {
		var pg struct {
			Data []sent `json:"data"`
		}
		mustDo(t, s, "GET", "/api/v1/messages?status=delivered&to=%2B15552010001", acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
		if len(pg.Data) != 1 || pg.Data[0].ID != m.ID {
			t.Errorf("list = %+v", pg.Data)
		}
		mustDo(t, s, "GET", "/api/v1/messages?status=queued", acme.APIKey, nil, http.StatusOK).JSON(t, &pg)
		if len(pg.Data) != 0 {
			t.Errorf("queued list = %+v, want none", pg.Data)
		}
		wantError(t, s.Do("GET", "/api/v1/messages?status=lost", acme.APIKey, nil), http.StatusBadRequest, "invalid_field", "status")
	})
}

func TestSendValidation(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 1000)
	long := strings.Repeat("a", 1531)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		param  string
	}{
		{"a missing recipient", map[string]string{"body": "hi"}, 400, "missing_field", "to"},
		{"an impossible number", map[string]string{"to": "+1555", "body": "hi"}, 400, "invalid_field", "to"},
		{"letters for a number", map[string]string{"to": "call me", "body": "hi"}, 400, "invalid_field", "to"},
		{"an empty body", map[string]string{"to": "+15552010001", "body": ""}, 400, "invalid_field", "body"},
		{"a blank body", map[string]string{"to": "+15552010001", "body": "  \n"}, 400, "invalid_field", "body"},
		{"eleven segments", map[string]string{"to": "+15552010001", "body": long}, 400, "invalid_field", "body"},
		{"a number for a body", map[string]any{"to": "+15552010001", "body": 5}, 400, "invalid_field", "body"},
		{"an unknown field", map[string]any{"to": "+15552010001", "body": "x", "sender": "me"}, 400, "invalid_field", "sender"},
		{"a sender that is not the client's", map[string]any{"to": "+15552010001", "body": "x", "from": "+15550009999"}, 422, "sender_not_allowed", "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, tt.body), tt.status, tt.code, tt.param)
		})
	}
	t.Run("nothing was charged for the refused sends", func(t *testing.T) {
		if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 1000 {
			t.Errorf("balance = %d, want 1000", b.BalanceCents)
		}
	})
	t.Run("ten segments are fine and cost ten times the rate", func(t *testing.T) {
		m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552010001", "body": strings.Repeat("a", 1530)})
		if m.Segments != 10 || m.CostCents != 10 {
			t.Errorf("answer = %+v", m)
		}
	})
	t.Run("a UCS-2 body says which characters made it so", func(t *testing.T) {
		m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552010001", "body": "Merci ç’est 😀"})
		if m.Encoding != "UCS-2" || !slices.Equal(m.NonGSM, []string{"ç", "’", "😀"}) || m.Segments != 1 {
			t.Errorf("answer = %+v", m)
		}
	})
	t.Run("the operator's rate applies", func(t *testing.T) {
		mustDo(t, s, "PATCH", "/admin/v1/clients/acme", admin, map[string]any{"rate_cents": 7}, http.StatusOK)
		wantError(t, s.Do("PATCH", "/admin/v1/clients/acme", admin, map[string]any{"rate_cents": -1}), 400, "invalid_field", "rate_cents")
		m := sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552010001", "body": strings.Repeat("b", 161)})
		if m.Segments != 2 || m.CostCents != 14 {
			t.Errorf("answer = %+v, want 2 segments at 7 cents", m)
		}
	})
}

func TestInsufficientCredits(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 2)
	res := s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15552010001", "body": strings.Repeat("c", 400)})
	wantError(t, res, http.StatusPaymentRequired, "insufficient_credits", "")
	var e struct {
		Error struct {
			BalanceCents int64 `json:"balance_cents"`
			NeededCents  int64 `json:"needed_cents"`
		} `json:"error"`
	}
	if res.JSON(t, &e); e.Error.BalanceCents != 2 || e.Error.NeededCents != 3 {
		t.Errorf("error = %+v, want balance 2 and 3 needed (three segments)", e.Error)
	}
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 2 {
		t.Errorf("balance after the refusal = %d, want 2", b.BalanceCents)
	}
	sendMessage(t, s, acme.APIKey, map[string]string{"to": "+15552010001", "body": strings.Repeat("c", 200)})
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 0 {
		t.Errorf("balance after spending it all = %d, want 0", b.BalanceCents)
	}
	wantError(t, s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": 0}), 400, "invalid_field", "amount_cents")
	wantError(t, s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"reference": "x"}), 400, "missing_field", "amount_cents")
	wantError(t, s.Do("POST", "/admin/v1/clients/acme/credits", admin, map[string]any{"amount_cents": -3}), http.StatusPaymentRequired, "insufficient_credits", "")
	wantError(t, s.Do("POST", "/admin/v1/clients/nobody/credits", admin, map[string]any{"amount_cents": 3}), 404, "not_found", "")
}

func TestOptedOutRecipientIsRefusedAndNotCharged(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	p := extreme("+15552010009", "acme", "STOP", "blk-1")
	p["status"], p["matchedBlockWord"] = "blocked", "STOP"
	id := inbound(t, s, p)
	message(t, s, acme.APIKey, id) // routed: the opt-out is recorded
	wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15552010009", "body": "deal!"}),
		http.StatusUnprocessableEntity, "recipient_opted_out", "to")
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 10 {
		t.Errorf("balance = %d, want 10", b.BalanceCents)
	}
	// Nothing of the refused send is left in the conversation (on PostgreSQL the opt-out is read
	// in the conversation's write, which the refusal undoes).
	var convs struct {
		Data []struct {
			Phone        string `json:"phone"`
			MessageCount int    `json:"message_count"`
		} `json:"data"`
	}
	mustDo(t, s, "GET", "/api/v1/conversations", acme.APIKey, nil, http.StatusOK).JSON(t, &convs)
	if len(convs.Data) != 1 || convs.Data[0].Phone != "+15552010009" || convs.Data[0].MessageCount != 1 {
		t.Errorf("conversations %+v, want the one of the STOP with its one message", convs.Data)
	}
}

func TestIdempotencyKey(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 10)
	post := func(key, body string) ibikitest.Response {
		t.Helper()
		return s.DoWith("POST", "/api/v1/messages", acme.APIKey, body, map[string]string{"Idempotency-Key": key})
	}
	body := `{"to":"+15552010001","body":"once"}`
	first := post("k-1", body)
	if first.Status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.Status, first.Body)
	}
	again := post("k-1", body)
	if again.Status != http.StatusAccepted || string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat: %d %s (replayed %q), want the first answer %s", again.Status, again.Body, again.Header.Get("Idempotent-Replayed"), first.Body)
	}
	wantError(t, post("k-1", `{"to":"+15552010001","body":"twice"}`), http.StatusConflict, "idempotency_key_reused", "Idempotency-Key")
	if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 9 {
		t.Errorf("balance = %d, want one charge", b.BalanceCents)
	}

	t.Run("concurrent requests with one key make one message", func(t *testing.T) {
		sameKeyAtOnce(t, 8, http.StatusAccepted, func() ibikitest.Response {
			return post("k-2", `{"to":"+15552010002","body":"race"}`)
		})
		if b := getBalance(t, s, acme.APIKey); b.BalanceCents != 8 {
			t.Errorf("balance = %d, want 8", b.BalanceCents)
		}
	})
	t.Run("keys are per client", func(t *testing.T) {
		globex := s.CreateClient("globex", "")
		topUp(t, s, "globex", 10)
		res := s.DoWith("POST", "/api/v1/messages", globex.APIKey, body, map[string]string{"Idempotency-Key": "k-1"})
		if res.Status != http.StatusAccepted || string(res.Body) == string(first.Body) {
			t.Errorf("another client's k-1: %d %s", res.Status, res.Body)
		}
	})
}

// The concurrency test: 50 goroutines send for one client whose balance covers only
// some of them. The balance never goes negative, exactly the covered number are queued, and the
// ledger sums to the balance.
func TestConcurrentSendsNeverOverdraw(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	topUp(t, s, "acme", 17)
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		ok, refuse int
	)
	for i := range 50 {
		wg.Go(func() {
			res := s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": fmt.Sprintf("+1555202%04d", i), "body": "offer"})
			mu.Lock()
			defer mu.Unlock()
			switch res.Status {
			case http.StatusAccepted:
				ok++
			case http.StatusPaymentRequired:
				refuse++
			default:
				t.Errorf("send %d: %d %s", i, res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	if ok != 17 || refuse != 33 {
		t.Errorf("accepted %d, refused %d; want 17 and 33", ok, refuse)
	}
	b := getBalance(t, s, acme.APIKey)
	sum, n := ledgerSum(t, s, acme.APIKey)
	if b.BalanceCents != 0 || sum != 0 || n != 18 {
		t.Errorf("balance %d, ledger sum %d over %d entries; want 0, 0, 18", b.BalanceCents, sum, n)
	}
}

func TestStickySender(t *testing.T) {
	s := ibikitest.NewServer(t, nil)
	acme := s.CreateClient("acme", "")
	globex := s.CreateClient("globex", "")
	topUp(t, s, "acme", 100)
	topUp(t, s, "globex", 100)
	for _, n := range []map[string]any{
		{"number": "+15550000001"}, {"number": "+15550000002"}, // the shared pool
		{"number": "+15550000010", "client_id": "globex"},
	} {
		mustDo(t, s, "POST", "/admin/v1/numbers", admin, n, http.StatusCreated)
	}
	wantError(t, s.Do("POST", "/admin/v1/numbers", admin, map[string]any{"number": "+15550000003", "provider": "nope"}),
		http.StatusBadRequest, "invalid_field", "provider")
	var num struct {
		Provider string `json:"provider"`
	}
	mustDo(t, s, "GET", "/admin/v1/numbers", admin, nil, http.StatusOK)
	mustDo(t, s, "PATCH", "/admin/v1/numbers/%2B15550000001", admin, map[string]any{"provider": ""}, http.StatusOK).JSON(t, &num)
	if num.Provider != "simulator" {
		t.Errorf("a number's provider defaults to the default provider, got %q", num.Provider)
	}
	to := func(key, phone string, body map[string]string) string {
		body["to"] = phone
		return sendMessage(t, s, key, body).From
	}

	t.Run("without history a client sends from the pool, round robin", func(t *testing.T) {
		a, b := to(acme.APIKey, "+15552030001", map[string]string{"body": "x"}), to(acme.APIKey, "+15552030001", map[string]string{"body": "y"})
		pool := []string{"+15550000001", "+15550000002"}
		if !slices.Contains(pool, a) || !slices.Contains(pool, b) || a == b {
			t.Errorf("senders %q then %q, want both pool numbers in turn", a, b)
		}
	})
	t.Run("a dedicated number comes before the pool", func(t *testing.T) {
		if f := to(globex.APIKey, "+15552030002", map[string]string{"body": "x"}); f != "+15550000010" {
			t.Errorf("from = %q, want globex's own number", f)
		}
	})
	t.Run("a reply goes out from the number the contact wrote to", func(t *testing.T) {
		p := extreme("+15552030003", "acme", "hello?", "st-1")
		p["receiver"] = "+15550000002"
		message(t, s, acme.APIKey, inbound(t, s, p))
		for range 3 {
			if f := to(acme.APIKey, "+15552030003", map[string]string{"body": "hi"}); f != "+15550000002" {
				t.Errorf("from = %q, want the sticky +15550000002", f)
			}
		}
		var m sent
		mustDo(t, s, "POST", "/api/v1/conversations/%2B15552030003/messages", acme.APIKey, map[string]string{"body": "reply"}, http.StatusAccepted).JSON(t, &m)
		if m.From != "+15550000002" || m.To != "+15552030003" {
			t.Errorf("conversation reply = %+v", m)
		}
	})
	t.Run("another client's dedicated number is never sticky", func(t *testing.T) {
		p := extreme("+15552030004", "acme", "wrong door", "st-2")
		p["receiver"] = "+15550000010" // globex's number, but the message is routed to globex then
		message(t, s, globex.APIKey, inbound(t, s, p))
		if f := to(acme.APIKey, "+15552030004", map[string]string{"body": "x"}); f == "+15550000010" {
			t.Errorf("acme sent from globex's number")
		}
	})
	t.Run("the client may name a pool number or its own, not another's", func(t *testing.T) {
		if f := to(acme.APIKey, "+15552030005", map[string]string{"body": "x", "from": "+15550000001"}); f != "+15550000001" {
			t.Errorf("from = %q", f)
		}
		wantError(t, s.Do("POST", "/api/v1/messages", acme.APIKey, map[string]string{"to": "+15552030005", "body": "x", "from": "+15550000010"}),
			http.StatusUnprocessableEntity, "sender_not_allowed", "from")
	})
}
