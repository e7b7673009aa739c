package tenant_test

import (
	"fmt"
	"testing"

	"github.com/ibiki/ibiki/internal/tenant"
)

// What an operator types for a client (its name, its webhook URL, a top-up's reference, a
// number's provider or client) is judged by the domain, whichever transport brings it: what is
// not text (package text) is a FieldError naming the field and nothing is written, the same
// on both engines.
func TestTextFieldsMustBeText(t *testing.T) {
	s := newService(t)
	mustCreate(t, s, "acme")
	nums := tenant.Numbers{Store: s.Store, Region: "US"}
	if _, err := nums.Add(t.Context(), tenant.NewNumber{Number: "+15550009001"}); err != nil {
		t.Fatal(err)
	}
	for i, bad := range []string{"\x00", "\xff", "\xc3(", "\xed\xa0\x80"} {
		tests := []struct {
			field string
			do    func() error
		}{
			{"name", func() error {
				_, _, err := s.Create(t.Context(), tenant.NewClient{ID: fmt.Sprintf("n%d", i), Name: "N" + bad})
				return err
			}},
			{"webhook_url", func() error {
				_, _, err := s.Create(t.Context(), tenant.NewClient{ID: fmt.Sprintf("w%d", i), WebhookURL: "https://hooks.example.com/" + bad})
				return err
			}},
			{"name", func() error {
				_, err := s.Update(t.Context(), "acme", tenant.Changes{Name: ptr("A" + bad)})
				return err
			}},
			{"webhook_url", func() error {
				_, err := s.Update(t.Context(), "acme", tenant.Changes{WebhookURL: ptr("https://hooks.example.com/" + bad)})
				return err
			}},
			{"reference", func() error {
				_, _, err := s.TopUp(t.Context(), "acme", 100, "inv "+bad)
				return err
			}},
			{"provider", func() error {
				_, err := nums.Add(t.Context(), tenant.NewNumber{Number: fmt.Sprintf("+1555000910%d", i), Provider: "p" + bad})
				return err
			}},
			{"client_id", func() error {
				_, err := nums.Add(t.Context(), tenant.NewNumber{Number: fmt.Sprintf("+1555000920%d", i), ClientID: "c" + bad})
				return err
			}},
			{"client_id", func() error {
				_, err := nums.Change(t.Context(), "+15550009001", ptr("c"+bad), nil)
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s with %q is refused, naming the field", tt.field, bad), func(t *testing.T) {
				wantField(t, tt.do(), tt.field, tenant.CodeInvalid)
			})
		}
	}
	c, err := s.Store.Client(t.Context(), "acme")
	if err != nil || c.Name != "acme" || c.WebhookURL != "" {
		t.Errorf("acme = %+v, %v; want it unchanged", c, err)
	}
	if b, err := s.Store.Balance(t.Context(), "acme"); err != nil || b != 0 {
		t.Errorf("balance = %d, %v; want nothing added", b, err)
	}
}
