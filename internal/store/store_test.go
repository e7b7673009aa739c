package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func addClient(t *testing.T, s *store.Store, id string) model.Client {
	t.Helper()
	c := model.Client{ID: id, Name: "Client " + id, Active: true, WebhookSecret: "whsec_x", CreatedAt: t0, UpdatedAt: t0}
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error { return tx.InsertClient(t.Context(), c) }))
	return c
}

func inbound(id, pid, from string) model.Message {
	return model.Message{ID: id, Direction: model.Inbound, Channel: model.ChannelSMS, From: from, To: "+15550000001",
		Body: "hi", Status: model.StatusReceived, Provider: "extremesms", ProviderMessageID: pid,
		ReceivedAt: t0, CreatedAt: t0}
}

func TestConcurrentTransactionsShareCommitsAndFailAlone(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(t.Context(), func(tx *store.Tx) error {
				c := model.Contact{ID: fmt.Sprintf("ct_%03d", i), ClientID: "acme", Phone: fmt.Sprintf("+1555000%04d", i),
					CreatedAt: t0, UpdatedAt: t0}
				if err := tx.InsertContact(t.Context(), c); err != nil {
					return err
				}
				if i%10 == 0 {
					return errors.New("caller changed its mind")
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%10 == 0) != (err != nil) {
			t.Fatalf("transaction %d: err = %v", i, err)
		}
	}
	got, err := s.Contacts(t.Context(), "acme", store.ContactFilter{}, "", 1000)
	if err != nil || len(got) != n-n/10 {
		t.Fatalf("contacts = %d, %v; want %d (the failed callers' rows undone, the others kept)", len(got), err, n-n/10)
	}
}

func TestInsertInboundIsIdempotentOnProviderMessageID(t *testing.T) {
	s := ibikitest.NewStore(t)
	var id1, id2, id3 string
	var new1, new2, new3 bool
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		id1, new1, err = tx.InsertInbound(t.Context(), inbound("msg_1", "p1", "+15551230001"))
		return err
	}))
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		id2, new2, err = tx.InsertInbound(t.Context(), inbound("msg_2", "p1", "+15551230001"))
		return err
	}))
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) (err error) {
		id3, new3, err = tx.InsertInbound(t.Context(), inbound("msg_3", "", "+15551230001"))
		return err
	}))
	if id1 != "msg_1" || !new1 || id2 != "msg_1" || new2 || id3 != "msg_3" || !new3 {
		t.Fatalf("got (%s,%v) (%s,%v) (%s,%v)", id1, new1, id2, new2, id3, new3)
	}
}

func TestClientDataIsScopedToItsClient(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	addClient(t, s, "zeta")
	ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
		if _, _, err := tx.InsertInbound(t.Context(), inbound("msg_1", "p1", "+15551230001")); err != nil {
			return err
		}
		conv, err := tx.TouchInbound(t.Context(), "acme", inbound("msg_1", "p1", "+15551230001"), "conv_1")
		if err != nil {
			return err
		}
		return tx.SetMessageRoute(t.Context(), "msg_1", "acme", conv, model.RoutedByBusiness)
	}))
	if _, err := s.Message(t.Context(), "acme", "msg_1"); err != nil {
		t.Fatalf("owner reads its message: %v", err)
	}
	if _, err := s.Message(t.Context(), "zeta", "msg_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other client reads message: %v, want ErrNotFound", err)
	}
	if _, err := s.Conversation(t.Context(), "zeta", "+15551230001", model.ChannelSMS); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other client reads conversation: %v, want ErrNotFound", err)
	}
}

// The upsert and the update by a known id touch a conversation alike: counts go up, the number
// written to is remembered (an empty one keeps it), times never go back.
func TestTouchInboundCountsMessagesAndRemembersTheNumber(t *testing.T) {
	touches := map[string]func(tx *store.Tx, ctx context.Context, m model.Message, id string) (string, error){
		"upsert": func(tx *store.Tx, ctx context.Context, m model.Message, id string) (string, error) {
			return tx.TouchInbound(ctx, "acme", m, id)
		},
		"known id": func(tx *store.Tx, ctx context.Context, m model.Message, id string) (string, error) {
			return tx.TouchKnownInbound(ctx, "acme", m, "conv_0") // the first call creates it
		},
	}
	for name, touch := range touches {
		t.Run(name, func(t *testing.T) {
			s := ibikitest.NewStore(t)
			addClient(t, s, "acme")
			addClient(t, s, "zeta")
			m := inbound("msg_1", "p1", "+15551230001")
			var ids []string
			steps := []struct {
				to   string
				at   time.Duration
				body string
			}{{"+15550000001", 0, "body 0"}, {"+15550000002", time.Minute, "body 1"}, {"", 30 * time.Second, "late"}}
			for i, st := range steps {
				m.To, m.ReceivedAt, m.Body = st.to, t0.Add(st.at), st.body
				ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
					id, err := touch(tx, t.Context(), m, fmt.Sprintf("conv_%d", i))
					ids = append(ids, id)
					return err
				}))
			}
			c, err := s.Conversation(t.Context(), "acme", "+15551230001", model.ChannelSMS)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids) != "[conv_0 conv_0 conv_0]" || c.MessageCount != 3 || c.UnreadCount != 3 ||
				c.LastInboundTo != "+15550000002" || c.LastPreview != "late" || !c.LastMessageAt.Equal(t0.Add(time.Minute)) {
				t.Fatalf("ids %v, conversation %+v", ids, c)
			}
		})
	}
	t.Run("a known id of another client's conversation is not touched", func(t *testing.T) {
		s := ibikitest.NewStore(t)
		addClient(t, s, "acme")
		addClient(t, s, "zeta")
		m := inbound("msg_1", "p1", "+15551230001")
		ibikitest.Must(t, s.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := tx.TouchInbound(t.Context(), "zeta", m, "conv_z")
			return err
		}))
		err := s.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := tx.TouchKnownInbound(t.Context(), "acme", m, "conv_z")
			return err
		})
		// An error that says the id is taken: not "not found", which routing takes for "routed
		// meanwhile" and would drop the message on.
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("acme touched zeta's conversation id: %v, want an error that the id is taken", err)
		}
		if c, _ := s.Conversation(t.Context(), "zeta", "+15551230001", model.ChannelSMS); c.MessageCount != 1 {
			t.Errorf("zeta's conversation counts %d messages, want 1", c.MessageCount)
		}
	})
}

func TestContactOwnersAndLastSenderSkipInactiveClients(t *testing.T) {
	s := ibikitest.NewStore(t)
	acme := addClient(t, s, "acme")
	addClient(t, s, "zeta")
	ctx := t.Context()
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		for _, c := range []string{"acme", "zeta"} {
			if err := tx.InsertContact(ctx, model.Contact{ID: "ct_" + c, ClientID: c, Phone: "+15551230001", CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	}))
	owners, err := s.ContactOwners(ctx, "+15551230001", 2)
	if err != nil || len(owners) != 2 {
		t.Fatalf("owners = %v, %v", owners, err)
	}
	acme.Active = false
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateClient(ctx, acme) }))
	owners, err = s.ContactOwners(ctx, "+15551230001", 2)
	if err != nil || len(owners) != 1 || owners[0] != "zeta" {
		t.Fatalf("owners after deactivation = %v, %v", owners, err)
	}
	if _, err := s.LastSender(ctx, "+15551230001"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("last sender with no outbound = %v", err)
	}
}

func TestDuplicateClientIsConflict(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	err := s.InTx(t.Context(), func(tx *store.Tx) error {
		return tx.InsertClient(t.Context(), model.Client{ID: "acme", Name: "again", WebhookSecret: "x"})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
}

func TestInTxAfterCloseFails(t *testing.T) {
	s, err := store.Open(context.Background(), ibikitest.DatabaseURL(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.InTx(t.Context(), func(tx *store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// Callers that lock the same rows in opposite orders deadlock on PostgreSQL when their
// transactions share a commit; every one of them must still succeed.
func TestTransactionsThatDeadlockAreRunAgain(t *testing.T) {
	s := ibikitest.NewStore(t)
	a, b := addClient(t, s, "aaa"), addClient(t, s, "bbb")
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, second := a, b
			if i%2 == 1 {
				first, second = b, a
			}
			errs <- s.InTx(t.Context(), func(tx *store.Tx) error {
				for _, c := range []model.Client{first, second} {
					c.Name = fmt.Sprint("name ", i)
					if err := tx.UpdateClient(t.Context(), c); err != nil {
						return err
					}
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a transaction failed: %v", err)
		}
	}
}

// A caller whose context ends while its transaction runs must not break the others it shares
// a commit with; and what each caller is told matches what was committed.
func TestACancelledCallerDoesNotBreakItsBatch(t *testing.T) {
	s := ibikitest.NewStore(t)
	addClient(t, s, "acme")
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errs[i] = s.InTx(ctx, func(tx *store.Tx) error {
				if i%7 == 0 {
					cancel() // the caller gives up while its statements run
				}
				c := model.Contact{ID: fmt.Sprintf("ct_%03d", i), ClientID: "acme", Phone: fmt.Sprintf("+1555000%04d", i),
					CreatedAt: t0, UpdatedAt: t0}
				if err := tx.InsertContact(ctx, c); err != nil {
					return err
				}
				// A read too: the transaction's queries are not the caller's to cancel.
				if _, err := tx.Contact(ctx, "acme", c.ID); err != nil {
					return err
				}
				if i%10 == 3 {
					return errors.New("business error") // forces the batch onto savepoints
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		_, getErr := s.Contact(t.Context(), "acme", fmt.Sprintf("ct_%03d", i))
		if (err == nil) != (getErr == nil) {
			t.Errorf("caller %d was told %v, but its row: %v", i, err, getErr)
		}
	}
}

func TestDeferredJobKeepsItsAttempts(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := context.Background()
	now := time.Now()
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.Enqueue(ctx, model.Job{Kind: model.JobSend, ClientID: "c", Ref: "m", RunAt: now, CreatedAt: now})
		return err
	}))
	claim := func() model.Job {
		t.Helper()
		var jobs []model.Job
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
			jobs, err = tx.ClaimJobs(ctx, model.JobSend, store.Lane{ClientID: "c", Priority: 0}, time.Now().Add(time.Hour), time.Now().Add(time.Minute), "me", 1)
			return err
		}))
		if len(jobs) != 1 {
			t.Fatalf("claimed %d jobs", len(jobs))
		}
		return jobs[0]
	}
	for range 3 {
		j := claim()
		if j.Attempts != 1 {
			t.Fatalf("attempts = %d, want 1: deferrals are not attempts", j.Attempts)
		}
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			ok, err := tx.DeferJob(ctx, j, now)
			if !ok && err == nil {
				t.Fatal("defer did not apply")
			}
			return err
		}))
	}
}

// FinishJobs takes many finished jobs out at once, lets the next job of each key that has one
// waiting run (and only those), and counts only the jobs their runs still held.
func TestFinishJobsFinishesManyAndPromotesWhoWaits(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := context.Background()
	now := time.Now()
	enqueue := func(ref, key string) {
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.Enqueue(ctx, model.Job{Kind: model.JobSend, ClientID: "c", Ref: ref, OrderKey: key, RunAt: now, CreatedAt: now})
			return err
		}))
	}
	// a1 is followed by a2 (waiting); b1 and c1 are alone.
	enqueue("a1", "a")
	enqueue("a2", "a")
	enqueue("b1", "b")
	enqueue("c1", "")
	var claimed []model.Job
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		claimed, err = tx.ClaimJobs(ctx, model.JobSend, store.Lane{ClientID: "c"}, now.Add(time.Hour), now.Add(time.Minute), "me", 10)
		return err
	}))
	if len(claimed) != 3 {
		t.Fatalf("claimed %d jobs, want a1, b1, c1", len(claimed))
	}
	stale := claimed[0]
	stale.Attempts++ // as if its lease lapsed and it was claimed again: not this run's to finish
	var n int
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.FinishJobs(ctx, []model.Job{stale, claimed[1], claimed[2]})
		return err
	}))
	if n != 2 {
		t.Fatalf("FinishJobs = %d, want 2 (the stale run's job stays)", n)
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		n, err = tx.FinishJobs(ctx, claimed[:1])
		return err
	}))
	if n != 1 {
		t.Fatalf("FinishJobs = %d, want 1", n)
	}
	var next []model.Job
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
		next, err = tx.ClaimJobs(ctx, model.JobSend, store.Lane{ClientID: "c"}, now.Add(time.Hour), now.Add(time.Minute), "me", 10)
		return err
	}))
	if len(next) != 1 || next[0].Ref != "a2" {
		t.Fatalf("after the finish, claimable: %+v, want a2 alone", next)
	}
}

// Routing reads a phone's conversation with a client and the client's contact of that phone in
// one read, each missing on its own, and never another client's.
func TestConversationAndContactReadTogether(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	addClient(t, s, "zeta")
	const phone = "+15551230001"
	read := func(client string) (string, model.ContactInfo, bool) {
		t.Helper()
		conv, ct, found, err := s.ConversationAndContact(ctx, client, phone, model.ChannelSMS)
		ibikitest.Must(t, err)
		return conv, ct, found
	}
	if conv, _, found := read("acme"); conv != "" || found {
		t.Fatalf("nothing yet: conversation %q, contact found %v", conv, found)
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.TouchInbound(ctx, "acme", inbound("msg_1", "p1", phone), "conv_1")
		return err
	}))
	if conv, _, found := read("acme"); conv != "conv_1" || found {
		t.Fatalf("a conversation and no contact: %q, found %v", conv, found)
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertContact(ctx, model.Contact{ID: "ct_1", ClientID: "zeta", Phone: phone, FirstName: "Zed",
			CreatedAt: t0, UpdatedAt: t0})
	}))
	if _, _, found := read("acme"); found {
		t.Fatal("acme read zeta's contact")
	}
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertContact(ctx, model.Contact{ID: "ct_2", ClientID: "acme", Phone: phone, FirstName: "Asha",
			LastName: "Rao", Business: "Tea", CreatedAt: t0, UpdatedAt: t0})
	}))
	conv, ct, found := read("acme")
	if want := (model.ContactInfo{FirstName: "Asha", LastName: "Rao", Business: "Tea"}); conv != "conv_1" || !found || ct != want {
		t.Fatalf("read %q, %+v (found %v), want conv_1 and %+v", conv, ct, found, want)
	}
	if conv, ct, found := read("zeta"); conv != "" || !found || ct.FirstName != "Zed" {
		t.Fatalf("zeta read %q, %+v (found %v), want no conversation and its own contact", conv, ct, found)
	}
}

// The conversation's write of a send can read, in the same statement, whether the recipient is
// on the client's suppression list (and only that client's).
func TestTouchOutboundScreenedReadsTheSuppressionList(t *testing.T) {
	s := ibikitest.NewStore(t)
	ctx := t.Context()
	addClient(t, s, "acme")
	addClient(t, s, "zeta")
	ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) error {
		return tx.UpsertOptOut(ctx, model.OptOut{ClientID: "zeta", Phone: "+15551230001", Source: "keyword", Keyword: "STOP", CreatedAt: t0})
	}))
	m := model.Message{ID: "msg_1", Direction: model.Outbound, Channel: model.ChannelSMS, To: "+15551230001", Body: "hi", CreatedAt: t0}
	screened := func(client string) bool {
		t.Helper()
		var opted bool
		ibikitest.Must(t, s.InTx(ctx, func(tx *store.Tx) (err error) {
			_, _, opted, err = tx.TouchOutboundScreened(ctx, client, m, "conv_"+client, true)
			return err
		}))
		return opted
	}
	if screened("acme") {
		t.Error("acme's send is screened out by zeta's suppression list")
	}
	if !screened("zeta") {
		t.Error("zeta's send to a phone on its suppression list is not screened out")
	}
}
