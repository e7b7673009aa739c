package campaign_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/campaign"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/provider"
	"github.com/ibiki/ibiki/internal/store"
)

// newService returns a campaign service on a fresh store with the active client acme. Drafts
// are never started, so no outbound service is needed.
func newService(t *testing.T) (*campaign.Service, model.Client) {
	t.Helper()
	st := ibikitest.NewStore(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := model.Client{ID: "acme", Name: "Acme", Active: true, WebhookSecret: "whsec_x", RateCents: 1, CreatedAt: now, UpdatedAt: now}
	ibikitest.Must(t, st.InTx(t.Context(), func(tx *store.Tx) error { return tx.InsertClient(t.Context(), c) }))
	return &campaign.Service{Store: st, Region: "US", Clock: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, c
}

// A campaign's name, message and tag must be text (package text), whichever transport brings
// them: otherwise a FieldError names the field and no campaign is stored, on both engines.
func TestCampaignTextMustBeText(t *testing.T) {
	svc, c := newService(t)
	for _, bad := range []string{"\x00", "\xff", "\xc3(", "\xed\xa0\x80"} {
		for _, field := range []string{"name", "message", "tag"} {
			t.Run(fmt.Sprintf("a %s with %q is refused, naming it", field, bad), func(t *testing.T) {
				in := campaign.Input{Name: "Spring", Message: "Hi", Tag: "vip", Draft: true}
				switch field {
				case "name":
					in.Name += bad
				case "message":
					in.Message += bad
				case "tag":
					in.Tag += bad
				}
				_, _, err := svc.Create(t.Context(), c, in)
				var fe *provider.FieldError
				if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Reason, field+" must be text") {
					t.Errorf("Create = %v, want a field error on %s", err, field)
				}
			})
		}
	}
	if cps, err := svc.Store.Campaigns(t.Context(), c.ID, "", 10); err != nil || len(cps) != 0 {
		t.Errorf("campaigns = %d, %v; want none stored", len(cps), err)
	}
}

// A recipient of a list given in the request (a bulk send made a campaign) whose own field
// makes its message other than text is reported invalid with its line; the others are kept.
func TestARecipientWhoseMessageIsNotTextIsInvalid(t *testing.T) {
	svc, c := newService(t)
	list := []map[string]string{
		{"phone": "+15557200001", "name": "Ann"},
		{"phone": "+15557200002", "name": "B\x00o"},
		{"phone": "+15557200003", "name": "C\xffy"},
		{"phone": "+15557200004", "name": "Di", "unused": "\x00"},
	}
	cp, rep, err := svc.Create(t.Context(), c, campaign.Input{Message: "Hi [name]", List: list, Draft: true})
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if cp.Total != 2 || rep.InvalidCount != 2 || len(rep.Invalid) != 2 || rep.Invalid[0].Line != 2 || rep.Invalid[1].Line != 3 ||
		!strings.Contains(rep.Invalid[0].Error, "a NUL character") || !strings.Contains(rep.Invalid[1].Error, "not UTF-8") {
		t.Errorf("campaign of %d recipients, report %+v; want lines 2 and 3 invalid", cp.Total, rep)
	}
}
