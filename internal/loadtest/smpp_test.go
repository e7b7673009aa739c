package loadtest_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/loadtest"
)

// A tiny `bench smpp` against a whole Ibiki (simulator provider): every submit_sm is accepted
// and its receipt comes back over the binds; no timing is asserted.
func TestSMPPBench(t *testing.T) {
	s := ibikitest.NewServer(t, map[string]string{"IBIKI_SIMULATOR_LATENCY": "10ms"})
	addr, err := s.App.SMPP.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.App.SMPP.Close(context.Background()) })
	rep, err := loadtest.SMPP(t.Context(), loadtest.Options{URL: s.URL, AdminToken: ibikitest.AdminToken, Client: "bench",
		Connections: 2, Drain: time.Minute, Log: io.Discard}, loadtest.SMPPOptions{Addr: addr.String(), Binds: 2, Window: 5, Messages: 200})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Submitted != 200 || rep.Accepted != 200 || len(rep.Refused) != 0 || rep.Receipts != 200 || rep.MissingAfterDrain != 0 ||
		rep.ReceiptsUnknown != 0 {
		t.Fatalf("report = %+v", rep)
	}
}
