package config_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsMatchTheIssue(t *testing.T) {
	c, err := config.Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != "ibiki.db" || c.AllowPrivateWebhooks || c.DefaultRegion != "US" ||
		c.WebhookTimeout != 15*time.Second || len(c.WebhookRetrySchedule) != 9 || c.WebhookRetrySchedule[0] != 5*time.Second ||
		c.WebhookRetrySchedule[8] != 24*time.Hour {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestFlagsWinOverEnvironmentWhichWinsOverDefaults(t *testing.T) {
	c, err := config.Load([]string{"--addr", "127.0.0.1:9999"}, env(map[string]string{
		"IBIKI_ADDR": "127.0.0.1:1", "IBIKI_DEFAULT_REGION": "gb", "IBIKI_ALLOW_PRIVATE_WEBHOOKS": "true",
		"IBIKI_WEBHOOK_RETRY_SCHEDULE": "1s, 2s",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.DefaultRegion != "GB" || !c.AllowPrivateWebhooks || len(c.WebhookRetrySchedule) != 2 {
		t.Fatalf("config = %+v", c)
	}
}

func TestSecretsComeFromFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(nil, env(map[string]string{"IBIKI_ADMIN_TOKEN_FILE": path,
		"IBIKI_SOURCE_EXTREMESMS_TOKEN_FILE": path, "IBIKI_SOURCE_EXTREMESMS_ALLOW_IPS": "127.0.0.1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminToken != "s3cret" || c.Sources["extremesms"].Token != "s3cret" || len(c.Sources["extremesms"].AllowIPs) != 1 ||
		c.Sources["generic"].Token != "" {
		t.Fatalf("config = %+v", c)
	}
}

func TestEveryBadValueIsReportedByName(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{
		"IBIKI_WEBHOOK_TIMEOUT": "soon", "IBIKI_DEFAULT_REGION": "XX", "IBIKI_WEBHOOK_RETRY_SCHEDULE": "5s,,1m",
		"IBIKI_SOURCE_GENERIC_ALLOW_IPS": "example.com", "IBIKI_ALLOW_PRIVATE_WEBHOOKS": "maybe",
	}), io.Discard)
	for _, name := range []string{"IBIKI_WEBHOOK_TIMEOUT", "IBIKI_DEFAULT_REGION", "IBIKI_WEBHOOK_RETRY_SCHEDULE",
		"IBIKI_SOURCE_GENERIC_ALLOW_IPS", "IBIKI_ALLOW_PRIVATE_WEBHOOKS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestDumpRedactsSecrets(t *testing.T) {
	var b strings.Builder
	if err := config.Dump(&b, env(map[string]string{"IBIKI_ADMIN_TOKEN": "s3cret",
		"IBIKI_DATABASE_URL": "postgres://u:pw@127.0.0.1/db"})); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "s3cret") || strings.Contains(b.String(), "pw@") ||
		!strings.Contains(b.String(), "IBIKI_ADMIN_TOKEN=[redacted]") {
		t.Fatalf("dump:\n%s", b.String())
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	if _, err := config.Load([]string{"--nope"}, env(nil), io.Discard); err == nil || errors.Is(err, nil) {
		t.Fatal("want an error")
	}
}

// docs/configuration.md carries the settings table; it must be the one the code has
// (regenerate it with `go run ./cmd/ibiki config --markdown`).
func TestTheDocumentedSettingsAreTheRealOnes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	config.Markdown(&table)
	if !strings.Contains(string(doc), table.String()) {
		t.Fatalf("docs/configuration.md does not contain the current settings table; regenerate it with `go run ./cmd/ibiki config --markdown`:\n%s", table.String())
	}
}
