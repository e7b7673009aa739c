package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ibiki/ibiki/internal/cli"
)

// Exit codes: 0 when help was asked for, 2 for a command line that cannot be read (and the
// flag package's complaint, printed once), as docs/operations.md promises.
func TestExitCodesOfTheCommandLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		says string // in the output
		not  string // not in the output
	}{
		{"help of serve is no error", []string{"serve", "-h"}, 0, "-webhook-timeout", "ibiki:"},
		{"an unknown flag of serve is a usage error", []string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus", "ibiki:"},
		{"a stray argument of serve is a usage error", []string{"serve", "stray"}, 2, `unexpected argument "stray"`, "ibiki:"},
		{"an unknown flag of bench is a usage error", []string{"bench", "inbound", "--nope"}, 2, "flag provided but not defined: -nope", "ibiki:"},
		{"an unknown provider of bench inbound is a usage error", []string{"bench", "inbound", "--provider", "fax"}, 2, `--provider "fax": say extremesms or twilio`, ""},
		{"bench inbound as Twilio needs the entry's token", []string{"bench", "inbound", "--provider", "twilio", "--twilio-auth-token", ""}, 2, "needs --twilio-auth-token", ""},
		{"--provider is for bench inbound only", []string{"bench", "send", "--provider", "twilio"}, 2, "--provider is for bench inbound", ""},
		{"--redis is for bench services with --spawn", []string{"bench", "services", "--redis", "redis://127.0.0.1:6379/0"}, 2, "--redis is for bench services --spawn", ""},
		{"help of bench names the services mode", []string{"bench", "services", "-h"}, 0, "-short-code", "ibiki:"},
		{"an unknown command is a usage error", []string{"nope"}, 2, `unknown command "nope"`, ""},
		{"help of the user command is no error", []string{"user", "create", "-h"}, 0, "-email", "ibiki:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := cli.Run(context.Background(), tt.args, &out, &out)
			if code != tt.code || !strings.Contains(out.String(), tt.says) || (tt.not != "" && strings.Contains(out.String(), tt.not)) {
				t.Errorf("Run(%q) = %d, output:\n%s\nwant %d, saying %q and not %q", tt.args, code, out.String(), tt.code, tt.says, tt.not)
			}
		})
	}
}
