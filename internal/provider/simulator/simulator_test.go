package simulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/provider/simulator"
)

// report is one delivery report and the provider name it came under.
type report struct {
	name string
	provider.StatusUpdate
}

// sink is a status sink that hands each report on to a channel.
type sink chan report

func (c sink) ApplyStatus(_ context.Context, name string, u []provider.StatusUpdate) error {
	for _, one := range u {
		c <- report{name, one}
	}
	return nil
}

func TestSimulator(t *testing.T) {
	reports := make(sink, 10)
	s := simulator.New(simulator.Config{Latency: time.Millisecond, Rate: 7, Status: reports})
	ctx := context.Background()
	res, err := s.Send(ctx, provider.Outbound{MessageID: "msg_1", To: "+15550002", Body: "hi"})
	if err != nil || res.ProviderMessageID == "" || res.Status != model.StatusSent {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	again, _ := s.Send(ctx, provider.Outbound{MessageID: "msg_1", To: "+15550002", Body: "hi"})
	if again.ProviderMessageID != res.ProviderMessageID || s.Sends() != 1 {
		t.Errorf("a repeat of msg_1 got %q (sends %d), want the first id and no new send", again.ProviderMessageID, s.Sends())
	}
	if got, found, _ := s.Lookup(ctx, "msg_1"); !found || got.ProviderMessageID != res.ProviderMessageID {
		t.Errorf("Lookup = %+v %v", got, found)
	}
	if _, found, _ := s.Lookup(ctx, "msg_2"); found {
		t.Errorf("Lookup found a message never sent")
	}
	select {
	case u := <-reports:
		if u.ProviderMessageID != res.ProviderMessageID || u.Status != model.StatusDelivered || u.name != "simulator" {
			t.Errorf("report = %+v", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery report")
	}
	if caps := s.Capabilities(); !caps.ChooseSender || !caps.Idempotent || caps.MaxPerSecond != 7 {
		t.Errorf("capabilities = %+v", caps)
	}

	t.Run("a failure ratio of 1 reports every message undelivered", func(t *testing.T) {
		got := make(sink, 1)
		f := simulator.New(simulator.Config{Latency: time.Millisecond, FailureRatio: 1, Status: got})
		f.Send(ctx, provider.Outbound{MessageID: "msg_3"})
		if u := <-got; u.Status != model.StatusUndelivered || u.ErrorCode == "" {
			t.Errorf("report = %+v", u)
		}
	})
	t.Run("after Close nothing is reported", func(t *testing.T) {
		got := make(sink, 1)
		c := simulator.New(simulator.Config{Latency: 20 * time.Millisecond, Status: got})
		c.Send(ctx, provider.Outbound{MessageID: "msg_4"})
		c.Close()
		select {
		case u := <-got:
			t.Errorf("reported after Close: %+v", u)
		case <-time.After(100 * time.Millisecond):
		}
	})
}
