package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/auth"
	"github.com/ibiki/ibiki/internal/cli"
	"github.com/ibiki/ibiki/internal/ibikitest"
)

func TestUserCommand(t *testing.T) {
	url := ibikitest.DatabaseURL(t)
	ctx := context.Background()
	run := func(password string, args ...string) (string, error) {
		file := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(file, []byte(password), 0o600); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		args = append(append([]string{"user"}, args...), "--database-url", url, "--password-file", file)
		if code := cli.Run(ctx, args, &out, &out); code != 0 {
			return out.String(), fmt.Errorf("exit %d: %s", code, out.String())
		}
		return out.String(), nil
	}
	if _, err := run("long-enough-pw\n", "create", "--admin", "--email", "Boss@Example.com"); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := run("long-enough-pw\n", "create", "--admin", "--email", "boss@example.com"); err == nil {
		t.Error("a second operator with the same email was created")
	}
	if _, err := run("short\n", "password", "--email", "boss@example.com"); err == nil {
		t.Error("a short password was accepted")
	}
	if _, err := run("a-new-password\n", "password", "--email", "boss@example.com"); err != nil {
		t.Fatalf("password: %v", err)
	}
	if _, err := run("whatever-password\n", "create", "--email", "staff@example.com"); err == nil {
		t.Error("a client user was created without an invitation")
	}
	st := ibikitest.OpenStore(t, url)
	accounts := &auth.Accounts{Store: st, Clock: time.Now}
	if _, err := accounts.Authenticate(ctx, "boss@example.com", "a-new-password"); err != nil {
		t.Errorf("the new password does not sign in: %v", err)
	}
	if _, err := accounts.Authenticate(ctx, "boss@example.com", "long-enough-pw"); err == nil {
		t.Error("the old password still signs in")
	}
}
