package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/config"
)

func TestRulesBetweenSettingsAreChecked(t *testing.T) {
	const lease = "IBIKI_JOB_LEASE (30s) must be more than twice IBIKI_WEBHOOK_TIMEOUT (15s): a delivery still running when its lease ends would be sent twice"
	const admin = "IBIKI_ADMIN_EMAIL and IBIKI_ADMIN_PASSWORD go together: set both to create the first operator"
	tests := []struct {
		name string
		env  map[string]string
		want []string // messages the error must carry; none: no error
	}{
		{"the defaults pass", nil, nil},
		{"a lease of exactly twice the webhook timeout is refused", map[string]string{"IBIKI_JOB_LEASE": "30s"}, []string{lease}},
		{"a lease shorter than the webhook timeout is refused", map[string]string{"IBIKI_JOB_LEASE": "5s", "IBIKI_WEBHOOK_TIMEOUT": "10s"},
			[]string{"IBIKI_JOB_LEASE (5s) must be more than twice IBIKI_WEBHOOK_TIMEOUT (10s)"}},
		{"a lease just over twice the webhook timeout passes", map[string]string{"IBIKI_JOB_LEASE": "5s", "IBIKI_WEBHOOK_TIMEOUT": "2s"}, nil},
		{"an operator email without a password is refused", map[string]string{"IBIKI_ADMIN_EMAIL": "ops@example.com"}, []string{admin}},
		{"an operator password without an email is refused", map[string]string{"IBIKI_ADMIN_PASSWORD": "correct horse"}, []string{admin}},
		{"an operator email with its password passes", map[string]string{"IBIKI_ADMIN_EMAIL": "ops@example.com", "IBIKI_ADMIN_PASSWORD": "correct horse"}, nil},
		{"every broken rule is reported at once", map[string]string{"IBIKI_JOB_LEASE": "30s", "IBIKI_ADMIN_EMAIL": "ops@example.com"},
			[]string{lease, admin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(nil, env(tt.env), io.Discard)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load accepted %v", tt.env)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
