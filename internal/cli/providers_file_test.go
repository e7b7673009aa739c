package cli

import (
	"errors"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/config"
	"github.com/ibiki/ibiki/internal/provider"
)

// loadWith loads the providers of a configuration made of env, with file (when not "") as
// IBIKI_PROVIDERS_FILE.
func loadWith(t *testing.T, file string, env map[string]string) (*provider.Registry, error) {
	t.Helper()
	vars := map[string]string{}
	for k, v := range env {
		vars[k] = v
	}
	if file != "" {
		path := filepath.Join(t.TempDir(), "providers.json")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["IBIKI_PROVIDERS_FILE"] = path
	}
	cfg, err := config.Load(nil, func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return load(cfg)
}

// shape describes a loaded registry: every entry as name:type:features, the senders, the default.
func shape(r *provider.Registry) string {
	var all []string
	for name, a := range r.All() {
		all = append(all, name+":"+r.Type(name)+":"+provider.Implemented(a).String())
	}
	return strings.Join(all, " ") + " | senders " + strings.Join(r.Names(), ",") + " | default " + r.Default()
}

func TestProvidersFileLoading(t *testing.T) {
	const sources = "extremesms:extremesms:inbound,verify generic:generic:inbound,verify"
	const tw = `{"name":"tw","type":"twilio","account_sid":"AC1","auth_token":"t"}`
	tests := []struct {
		name string
		file string // "" for none
		env  map[string]string
		want string // the registry's shape, or the start of the error after the file's name
	}{
		{"without a file the simulator sends and both sources take inbound", "", nil,
			"simulator:simulator:send,lookup,inject,close " + sources + " | senders simulator | default simulator"},
		{"a file keeps the default sources beside its providers", `{"providers":[` + tw + `]}`, nil,
			"tw:twilio:send,inbound,status,verify,voice,conversations " + sources + " | senders tw | default tw"},
		{"an extremesms entry with credentials sends and takes inbound in place of the default source",
			`{"providers":[{"name":"extremesms","type":"extremesms","base_url":"https://es.example","api_key":"k"}]}`, nil,
			"extremesms:extremesms:send,inbound,verify generic:generic:inbound,verify | senders extremesms | default extremesms"},
		{"an entry named like a default source must be of its type (its URL keeps taking those webhooks)",
			`{"providers":[` + tw + `,{"name":"generic","type":"http","url":"https://agg.example/sms"}]}`, nil,
			`the entry "generic" must be of type "generic": its webhook URL takes generic's webhooks; give the http entry another name`},
		{"an entry named like a default source of its type replaces it",
			`{"providers":[` + tw + `,{"name":"generic","type":"generic","webhook_token":"s"}]}`, nil,
			"tw:twilio:send,inbound,status,verify,voice,conversations generic:generic:inbound,verify extremesms:extremesms:inbound,verify | senders tw | default tw"},
		{"another inbound source may be added under its own name",
			`{"default":"tw","providers":[{"name":"relay","type":"generic"},` + tw + `]}`, nil,
			"relay:generic:inbound,verify tw:twilio:send,inbound,status,verify,voice,conversations " + sources + " | senders tw | default tw"},
		{"a name listed twice is refused", `{"providers":[` + tw + `,` + tw + `]}`, nil, `provider "tw" is listed twice`},
		{"an unknown field is refused", `{"providers":[{"name":"tw","type":"twilio","account_sid":"AC1","auth_token":"t","sid":"x"}]}`, nil,
			`tw: json: unknown field "sid"`},
		{"an unknown protection field is refused", `{"providers":[{"name":"g","type":"generic","webhook_tokn":"x"},` + tw + `]}`, nil,
			`providers[0]: g: json: unknown field "webhook_tokn"`},
		{"an allow list entry that is not an address is refused", `{"providers":[{"name":"g","type":"generic","webhook_allow_ips":["example.com"]},` + tw + `]}`, nil,
			`providers[0]: g: webhook_allow_ips: bad entry "example.com"`},
		{"protection on a provider without webhooks is refused", `{"providers":[{"name":"sim","type":"simulator","webhook_token":"x"}]}`, nil,
			"sim: a simulator provider like this one takes no webhooks"},
		{"an unknown type is refused", `{"providers":[{"name":"p","type":"pigeon"}]}`, nil,
			`p: type "pigeon" is not one of extremesms, generic, http, simulator, smpp, twilio`},
		{"a file of inbound sources only is refused", `{"providers":[{"name":"relay","type":"generic"}]}`, nil,
			"lists no provider that sends"},
		{"a default that does not send is refused", `{"default":"relay","providers":[{"name":"relay","type":"generic"},` + tw + `]}`, nil,
			`default: provider "relay" does not send`},
		{"an empty list is refused", `{"providers":[]}`, nil, "lists no providers"},
		{"a legacy setting and the entry's own protection together are refused",
			`{"providers":[` + tw + `,{"name":"extremesms","type":"extremesms","webhook_token":"a"}]}`,
			map[string]string{"IBIKI_SOURCE_EXTREMESMS_ALLOW_IPS": "10.0.0.1"},
			`IBIKI_SOURCE_EXTREMESMS_* and the webhook_* fields of the entry "extremesms" both protect its webhooks: keep one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := loadWith(t, tt.file, tt.env)
			if err != nil {
				if !strings.Contains(err.Error(), ": "+tt.want) {
					t.Fatalf("error %q, want %q", err, tt.want)
				}
				if tt.file != "" && !strings.HasPrefix(err.Error(), "IBIKI_PROVIDERS_FILE ") {
					t.Errorf("error %q does not name the setting", err)
				}
				return
			}
			if got := shape(reg); got != tt.want {
				t.Errorf("registry\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// verify asks the adapter called name to verify a POST to target from ip with headers.
func verify(t *testing.T, reg *provider.Registry, name, target, ip string, headers map[string]string) error {
	t.Helper()
	a, ok := reg.Adapter(name)
	if !ok {
		t.Fatalf("no adapter %q", name)
	}
	r := httptest.NewRequest("POST", target, strings.NewReader("{}"))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return a.(provider.Verifier).Verify(provider.Request{HTTP: r, Body: []byte("{}"), ClientIP: parseIP(t, ip)})
}

func TestWebhookProtectionComesFromTheEntryOrTheLegacySettings(t *testing.T) {
	const tw = `{"name":"tw","type":"twilio","account_sid":"AC1","auth_token":"t"}`
	t.Run("the webhook_* fields protect their entry", func(t *testing.T) {
		reg, err := loadWith(t, `{"providers":[`+tw+`,{"name":"relay","type":"generic","webhook_token":"s3cret",
			"webhook_token_header":"X-Relay","webhook_hmac_secret":"","webhook_allow_ips":["203.0.113.0/24"]}]}`, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, ip string
			headers  map[string]string
			want     error
		}{
			{"a caller outside the allow list", "198.51.100.1", map[string]string{"X-Relay": "s3cret"}, provider.ErrForbiddenIP},
			{"a caller without the token", "203.0.113.5", nil, provider.ErrBadToken},
			{"the token in the default header", "203.0.113.5", map[string]string{"X-Webhook-Token": "s3cret"}, provider.ErrBadToken},
			{"the token in the configured header", "203.0.113.5", map[string]string{"X-Relay": "s3cret"}, nil},
		} {
			if err := verify(t, reg, "relay", "/webhooks/relay", c.ip, c.headers); !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
			}
		}
		if err := verify(t, reg, "generic", "/webhooks/generic", "198.51.100.1", nil); err != nil {
			t.Errorf("the default generic source is protected too: %v", err)
		}
	})
	legacy := map[string]string{"IBIKI_SOURCE_EXTREMESMS_TOKEN": "old", "IBIKI_SOURCE_GENERIC_HMAC_SECRET": "k"}
	for _, c := range []struct{ name, file string }{
		{"IBIKI_SOURCE_* protect the default sources", ""},
		{"IBIKI_SOURCE_* protect the file's entries of those names", `{"providers":[` + tw +
			`,{"name":"extremesms","type":"extremesms","base_url":"https://es.example","api_key":"k"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg, err := loadWith(t, c.file, legacy)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(t, reg, "extremesms", "/webhooks/extremesms", "198.51.100.1", nil); !errors.Is(err, provider.ErrBadToken) {
				t.Errorf("extremesms without the token: %v", err)
			}
			if err := verify(t, reg, "extremesms", "/webhooks/extremesms?token=old", "198.51.100.1", nil); err != nil {
				t.Errorf("extremesms with the token: %v", err)
			}
			if err := verify(t, reg, "generic", "/webhooks/generic", "198.51.100.1", nil); !errors.Is(err, provider.ErrBadSignature) {
				t.Errorf("generic without a signature: %v", err)
			}
		})
	}
}

func TestTheSimulatorSettingsTuneTheDefaultSimulator(t *testing.T) {
	reg, err := loadWith(t, "", map[string]string{"IBIKI_SIMULATOR_RATE": "7"})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := reg.Get("simulator")
	if !ok {
		t.Fatal("no simulator")
	}
	if got := s.Capabilities().MaxPerSecond; got != 7 {
		t.Errorf("the simulator takes %g messages/s, want 7", got)
	}
}

func TestEntriesAreBuiltInTheFilesOrder(t *testing.T) {
	reg, err := loadWith(t, `{"providers":[{"name":"b","type":"simulator"},{"name":"a","type":"simulator"}]}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); !slices.Equal(got, []string{"b", "a"}) || reg.Default() != "b" {
		t.Errorf("Names() = %v, default %q", got, reg.Default())
	}
}

func parseIP(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
