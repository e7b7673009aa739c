package outbound_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/outbound"
	"github.com/ibiki/ibiki/internal/provider"
)

// A send's body must be text (package text), whichever transport brings it: otherwise it is a
// FieldError naming the body, nothing is queued and nothing is charged, on both engines. In a
// bulk send the item is refused by its index and the others go.
func TestABodyMustBeText(t *testing.T) {
	r := newRig(t, &fake{})
	ctx := context.Background()
	for _, bad := range []string{"\x00", "\xff", "\xc3(", "\xed\xa0\x80"} {
		t.Run(fmt.Sprintf("a send with %q in its body is refused", bad), func(t *testing.T) {
			_, err := r.svc.Send(ctx, r.client(), outbound.Request{To: "+15552050001", Body: "hi" + bad})
			wantBodyError(t, err)
		})
		t.Run(fmt.Sprintf("a bulk item with %q in its body is refused by its index", bad), func(t *testing.T) {
			res, err := r.svc.SendBulk(ctx, r.client(), []outbound.Request{
				{To: "+15552050002", Body: "fine"}, {To: "+15552050003", Body: bad + "bad"}})
			if err != nil || len(res.Queued) != 1 || res.Queued[0].Index != 0 || len(res.Errors) != 1 || res.Errors[0].Index != 1 {
				t.Fatalf("SendBulk = %+v, %v; want item 0 queued and item 1 refused", res, err)
			}
			wantBodyError(t, res.Errors[0].Err)
		})
	}
	if b := r.balance(); b != 100-4*2 {
		t.Errorf("balance = %d, want only the four good bulk items charged (92)", b)
	}
}

func wantBodyError(t *testing.T, err error) {
	t.Helper()
	var fe *outbound.FieldError
	if !errors.As(err, &fe) || fe.Field != "body" || !strings.Contains(fe.Reason, "body must be text") {
		t.Errorf("err = %v, want a field error on body", err)
	}
}

// A provider's status report cannot make its message fail to be recorded: an id that is not
// text matches no message (it is dropped at once, not retried), and an error code or message
// that is not text is kept cleaned and bounded, on both engines. The provider's callback is
// then answered, not failed, so it does not retry forever.
func TestStatusReportsThatAreNotText(t *testing.T) {
	r := newRig(t, &fake{})
	ctx := context.Background()
	m := r.send()
	r.run(m)
	pid := r.message(m.ID).ProviderMessageID
	for _, id := range []string{pid + "\x00", "\xff" + pid, "\xc3("} {
		if err := r.svc.ApplyStatus(ctx, "fake", []provider.StatusUpdate{{ProviderMessageID: id, Status: model.StatusDelivered}}); err != nil {
			t.Errorf("ApplyStatus(%q) = %v, want the report dropped", id, err)
		}
	}
	if got := r.message(m.ID); got.Status != model.StatusSent {
		t.Fatalf("status = %s after reports for other ids, want sent", got.Status)
	}
	long := strings.Repeat("é", 1000)
	err := r.svc.ApplyStatus(ctx, "fake", []provider.StatusUpdate{{ProviderMessageID: pid, Status: model.StatusFailed,
		ErrorCode: "3\x0000\xff" + long, ErrorMessage: "no\x00 such\xc3( phone " + long}})
	if err != nil {
		t.Fatalf("ApplyStatus = %v", err)
	}
	got := r.message(m.ID)
	if got.Status != model.StatusFailed || !strings.HasPrefix(got.ErrorCode, "300\uFFFDé") || len(got.ErrorCode) > outbound.MaxErrorCode ||
		!strings.HasPrefix(got.ErrorMessage, "no such\uFFFD( phone é") || len(got.ErrorMessage) > outbound.MaxErrorMessage {
		t.Errorf("message %s, error %q: %q; want failed, cleaned and bounded", got.Status, got.ErrorCode, got.ErrorMessage)
	}
	if r.balance() != 100 {
		t.Errorf("balance = %d, want the failed message refunded (100)", r.balance())
	}
}
