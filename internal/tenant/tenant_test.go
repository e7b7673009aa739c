package tenant_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/ibikitest"
	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/store"
	"github.com/ibiki/ibiki/internal/tenant"
)

// t0 is the fixed time of every test service.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeDNS resolves every host from a table and never touches the network.
type fakeDNS map[string]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, errors.New("no such host")
}

// newService returns a service on a fresh store that refuses private webhook addresses.
func newService(t *testing.T) *tenant.Service {
	t.Helper()
	return &tenant.Service{Store: ibikitest.NewStore(t), Clock: func() time.Time { return t0 },
		Resolver: fakeDNS{"hooks.example.com": "93.184.216.34", "intranet.example.com": "10.1.2.3"}}
}

func mustCreate(t *testing.T, s *tenant.Service, id string) (model.Client, string) {
	t.Helper()
	c, key, err := s.Create(t.Context(), tenant.NewClient{ID: id})
	ibikitest.Must(t, err)
	return c, key
}

func ptr[T any](v T) *T { return &v }

// wantField fails unless err is a *tenant.FieldError for field with code.
func wantField(t *testing.T, err error, field, code string) {
	t.Helper()
	var fe *tenant.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a field error on %s", err, field)
	}
	if fe.Field != field || fe.Code != code || fe.Message == "" {
		t.Errorf("field error = %+v, want %s on %s with a message", fe, code, field)
	}
}

func TestCreateRefusesBadFields(t *testing.T) {
	s := newService(t)
	tests := []struct {
		name, field, code string
		in                tenant.NewClient
	}{
		{"a missing id is missing", "id", tenant.CodeMissing, tenant.NewClient{Name: "x"}},
		{"an uppercase id is invalid", "id", tenant.CodeInvalid, tenant.NewClient{ID: "Acme"}},
		{"a one-character id is invalid", "id", tenant.CodeInvalid, tenant.NewClient{ID: "a"}},
		{"a 201-byte name is invalid", "name", tenant.CodeInvalid, tenant.NewClient{ID: "acme", Name: strings.Repeat("n", 201)}},
		{"a negative rate is invalid", "rate_cents", tenant.CodeInvalid, tenant.NewClient{ID: "acme", RateCents: ptr[int64](-1)}},
		{"a rate above 10000 is invalid", "rate_cents", tenant.CodeInvalid, tenant.NewClient{ID: "acme", RateCents: ptr[int64](10_001)}},
		{"an ftp webhook URL is invalid", "webhook_url", tenant.CodeInvalid, tenant.NewClient{ID: "acme", WebhookURL: "ftp://x"}},
		{"a loopback webhook URL is invalid", "webhook_url", tenant.CodeInvalid, tenant.NewClient{ID: "acme", WebhookURL: "http://127.0.0.1/h"}},
		{"a host resolving to a private address is invalid", "webhook_url", tenant.CodeInvalid,
			tenant.NewClient{ID: "acme", WebhookURL: "https://intranet.example.com/h"}},
		{"the id is checked before the other fields", "id", tenant.CodeInvalid,
			tenant.NewClient{ID: "A", Name: strings.Repeat("n", 201), RateCents: ptr[int64](-1), WebhookURL: "ftp://x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, key, err := s.Create(t.Context(), tt.in)
			wantField(t, err, tt.field, tt.code)
			if key != "" {
				t.Errorf("a refused create returned a key")
			}
		})
	}
	if cs, err := s.Store.Clients(t.Context(), "", 10); err != nil || len(cs) != 0 {
		t.Errorf("refused creates stored %d clients (%v)", len(cs), err)
	}
}

func TestCreateStoresClientAndKey(t *testing.T) {
	s := newService(t)
	tests := []struct {
		name     string
		in       tenant.NewClient
		wantName string
		wantURL  string
		wantRate int64
	}{
		{"the name defaults to the id and the rate to one cent", tenant.NewClient{ID: "acme"}, "acme", "", tenant.DefaultRateCents},
		{"a blank name defaults to the id", tenant.NewClient{ID: "blank", Name: "   "}, "blank", "", 1},
		{"name and URL are trimmed", tenant.NewClient{ID: "trim", Name: " Trim Ltd ", WebhookURL: " https://hooks.example.com/h "},
			"Trim Ltd", "https://hooks.example.com/h", 1},
		{"a zero rate is kept", tenant.NewClient{ID: "free", RateCents: ptr[int64](0)}, "free", "", 0},
		{"the highest rate is accepted", tenant.NewClient{ID: "dear", RateCents: ptr[int64](10_000)}, "dear", "", 10_000},
		{"a 200-byte name is accepted", tenant.NewClient{ID: "long", Name: strings.Repeat("n", 200)}, strings.Repeat("n", 200), "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, key, err := s.Create(t.Context(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tt.wantName || c.WebhookURL != tt.wantURL || c.RateCents != tt.wantRate || !c.Active ||
				!c.CreatedAt.Equal(t0) || !strings.HasPrefix(c.WebhookSecret, "whsec_") {
				t.Errorf("created %+v", c)
			}
			stored, err := s.Store.Client(t.Context(), tt.in.ID)
			if err != nil || stored.Name != c.Name || stored.WebhookSecret != c.WebhookSecret || stored.RateCents != c.RateCents {
				t.Errorf("stored %+v (%v), returned %+v", stored, err, c)
			}
			if !strings.HasPrefix(key, auth.KeyPrefix) {
				t.Fatalf("key %q lacks the prefix", key)
			}
			if byKey, err := s.Store.ClientByKeyHash(t.Context(), auth.Hash(key)); err != nil || byKey.ID != c.ID {
				t.Errorf("the key finds %q (%v), want %q", byKey.ID, err, c.ID)
			}
		})
	}

	t.Run("a taken id is ErrClientExists and changes nothing", func(t *testing.T) {
		before, _ := s.Store.Client(t.Context(), "acme")
		_, key, err := s.Create(t.Context(), tenant.NewClient{ID: "acme", Name: "Other"})
		if !errors.Is(err, tenant.ErrClientExists) || !errors.Is(err, store.ErrConflict) || key != "" {
			t.Fatalf("Create = %q, %v; want ErrClientExists that is also store.ErrConflict", key, err)
		}
		if after, _ := s.Store.Client(t.Context(), "acme"); after.Name != before.Name || after.WebhookSecret != before.WebhookSecret {
			t.Errorf("the refused create changed the client: %+v", after)
		}
	})
}

func TestUpdate(t *testing.T) {
	s := newService(t)
	orig, _ := mustCreate(t, s, "acme")
	later := t0.Add(time.Hour)
	s.Clock = func() time.Time { return later }

	t.Run("nothing to change keeps every field and moves updated_at", func(t *testing.T) {
		c, err := s.Update(t.Context(), "acme", tenant.Changes{})
		if err != nil || c.Name != orig.Name || c.WebhookSecret != orig.WebhookSecret || !c.UpdatedAt.Equal(later) || !c.CreatedAt.Equal(t0) {
			t.Errorf("Update = %+v, %v", c, err)
		}
	})

	changes := []struct {
		name  string
		ch    tenant.Changes
		check func(model.Client) bool
	}{
		{"the name is trimmed", tenant.Changes{Name: ptr("  Acme Two ")}, func(c model.Client) bool { return c.Name == "Acme Two" }},
		{"the webhook URL is trimmed", tenant.Changes{WebhookURL: ptr(" https://hooks.example.com/x ")},
			func(c model.Client) bool { return c.WebhookURL == "https://hooks.example.com/x" }},
		{"an empty webhook URL removes it", tenant.Changes{WebhookURL: ptr("")}, func(c model.Client) bool { return c.WebhookURL == "" }},
		{"quiet hours are normalised", tenant.Changes{QuietHours: ptr(" 21:00-8:00 ")}, func(c model.Client) bool { return c.QuietHours == "21:00-08:00" }},
		{"empty quiet hours remove them", tenant.Changes{QuietHours: ptr("")}, func(c model.Client) bool { return c.QuietHours == "" }},
		{"the client can be deactivated", tenant.Changes{Active: ptr(false)}, func(c model.Client) bool { return !c.Active }},
		{"and activated again", tenant.Changes{Active: ptr(true)}, func(c model.Client) bool { return c.Active }},
		{"the rate changes", tenant.Changes{RateCents: ptr[int64](7)}, func(c model.Client) bool { return c.RateCents == 7 }},
		{"fields left nil stay as they are", tenant.Changes{Active: ptr(true)},
			func(c model.Client) bool { return c.Name == "Acme Two" && c.RateCents == 7 }},
	}
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			c, err := s.Update(t.Context(), "acme", tt.ch)
			if err != nil || !tt.check(c) {
				t.Fatalf("Update = %+v, %v", c, err)
			}
			if stored, err := s.Store.Client(t.Context(), "acme"); err != nil || !tt.check(stored) {
				t.Errorf("stored %+v, %v", stored, err)
			}
		})
	}

	t.Run("saving the webhook URL clears its disabled mark", func(t *testing.T) {
		_, err := s.Update(t.Context(), "acme", tenant.Changes{WebhookURL: ptr("https://hooks.example.com/x")})
		ibikitest.Must(t, err)
		ibikitest.Must(t, s.Store.InTx(t.Context(), func(tx *store.Tx) error {
			return tx.DisableWebhook(t.Context(), "acme", "https://hooks.example.com/x", t0)
		}))
		if c, _ := s.Store.Client(t.Context(), "acme"); c.WebhookDisabledAt.IsZero() {
			t.Fatal("fixture: the webhook is not disabled")
		}
		c, err := s.Update(t.Context(), "acme", tenant.Changes{WebhookURL: ptr("https://hooks.example.com/x")})
		if err != nil || !c.WebhookDisabledAt.IsZero() {
			t.Errorf("Update = disabled at %v, %v", c.WebhookDisabledAt, err)
		}
		if stored, _ := s.Store.Client(t.Context(), "acme"); !stored.WebhookDisabledAt.IsZero() {
			t.Errorf("stored disabled at %v", stored.WebhookDisabledAt)
		}
	})

	refused := []struct {
		name, field string
		ch          tenant.Changes
	}{
		{"a blank name is refused", "name", tenant.Changes{Name: ptr("  ")}},
		{"a 201-byte name is refused", "name", tenant.Changes{Name: ptr(strings.Repeat("n", 201))}},
		{"a rate above 10000 is refused", "rate_cents", tenant.Changes{RateCents: ptr[int64](10_001)}},
		{"malformed quiet hours are refused", "quiet_hours", tenant.Changes{QuietHours: ptr("9-8")}},
		{"a private webhook URL is refused", "webhook_url", tenant.Changes{WebhookURL: ptr("http://10.0.0.1/h")}},
		{"the rate is checked first", "rate_cents", tenant.Changes{RateCents: ptr[int64](-1), QuietHours: ptr("x"), Name: ptr(""), WebhookURL: ptr("ftp://x")}},
		{"then the quiet hours", "quiet_hours", tenant.Changes{QuietHours: ptr("x"), Name: ptr(""), WebhookURL: ptr("ftp://x")}},
		{"then the name", "name", tenant.Changes{Name: ptr(""), WebhookURL: ptr("ftp://x")}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Store.Client(t.Context(), "acme")
			_, err := s.Update(t.Context(), "acme", tt.ch)
			wantField(t, err, tt.field, tenant.CodeInvalid)
			if after, _ := s.Store.Client(t.Context(), "acme"); after != before {
				t.Errorf("a refused update changed the client: %+v", after)
			}
		})
	}

	t.Run("an unknown client is not found once the fields are valid", func(t *testing.T) {
		if _, err := s.Update(t.Context(), "nobody", tenant.Changes{Name: ptr("x")}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Update(nobody) = %v, want store.ErrNotFound", err)
		}
		_, err := s.Update(t.Context(), "nobody", tenant.Changes{Name: ptr(" ")})
		wantField(t, err, "name", tenant.CodeInvalid)
	})
}

func TestRotateKey(t *testing.T) {
	s := newService(t)
	_, old := mustCreate(t, s, "acme")
	c, key, err := s.RotateKey(t.Context(), "acme")
	if err != nil || c.ID != "acme" || !strings.HasPrefix(key, auth.KeyPrefix) || key == old {
		t.Fatalf("RotateKey = %+v, %q, %v", c, key, err)
	}
	t.Run("the old key no longer finds the client", func(t *testing.T) {
		if _, err := s.Store.ClientByKeyHash(t.Context(), auth.Hash(old)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old key: %v, want store.ErrNotFound", err)
		}
	})
	t.Run("the new key does", func(t *testing.T) {
		if got, err := s.Store.ClientByKeyHash(t.Context(), auth.Hash(key)); err != nil || got.ID != "acme" {
			t.Errorf("new key: %q, %v", got.ID, err)
		}
	})
	t.Run("an unknown client is not found", func(t *testing.T) {
		if _, key, err := s.RotateKey(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) || key != "" {
			t.Errorf("RotateKey(nobody) = %q, %v", key, err)
		}
	})
}

func TestRotateWebhookSecretKeepsThePreviousOneForTheGrace(t *testing.T) {
	s := newService(t)
	orig, _ := mustCreate(t, s, "acme")
	c, err := s.RotateWebhookSecret(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.WebhookSecret, "whsec_") || c.WebhookSecret == orig.WebhookSecret || c.PreviousSecret != orig.WebhookSecret ||
		!c.PreviousSecretUntil.Equal(t0.Add(tenant.SecretGrace)) {
		t.Errorf("rotated = secret %q, previous %q until %v", c.WebhookSecret, c.PreviousSecret, c.PreviousSecretUntil)
	}
	if stored, _ := s.Store.Client(t.Context(), "acme"); stored.WebhookSecret != c.WebhookSecret || stored.PreviousSecret != orig.WebhookSecret {
		t.Errorf("stored %+v", stored)
	}
	if _, err := s.RotateWebhookSecret(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateWebhookSecret(nobody) = %v, want store.ErrNotFound", err)
	}
}

// unreachableDNS fails every lookup the way the system resolver does when its server is down:
// the error names the server's address.
type unreachableDNS struct{}

func (unreachableDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "dial udp 10.0.0.53:53: connect: connection refused", Name: host,
		Server: "10.0.0.53:53", IsTemporary: true}
}

// A webhook URL whose host cannot be resolved is refused, on create and on update, with a
// message about the URL: the client is told which host failed, not which DNS server we asked.
func TestWebhookURLErrorsDoNotNameTheResolver(t *testing.T) {
	s := newService(t)
	mustCreate(t, s, "acme")
	s.Resolver = unreachableDNS{}
	const url = "https://hooks.example.invalid/h"
	check := func(t *testing.T, err error) {
		t.Helper()
		wantField(t, err, "webhook_url", tenant.CodeInvalid)
		var fe *tenant.FieldError
		if errors.As(err, &fe) && (!strings.Contains(fe.Message, `could not resolve host "hooks.example.invalid"`) ||
			strings.Contains(fe.Message, "10.0.0.53")) {
			t.Errorf("message = %q, want the host named and the resolver not", fe.Message)
		}
	}
	t.Run("creating a client with it is refused", func(t *testing.T) {
		_, _, err := s.Create(t.Context(), tenant.NewClient{ID: "beta", WebhookURL: url})
		check(t, err)
	})
	t.Run("setting it on a client is refused", func(t *testing.T) {
		_, err := s.Update(t.Context(), "acme", tenant.Changes{WebhookURL: ptr(url)})
		check(t, err)
	})
}
