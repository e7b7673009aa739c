package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/ibikitest"
)

// Without IBIKI_ADMIN_TOKEN, the first start prints a generated token once; it works, and it
// keeps working after a restart, which prints nothing.
func TestFirstStartPrintsAnAdminTokenOnce(t *testing.T) {
	db := ibikitest.DatabaseURL(t)
	first := startBare(t, db)
	token := regexp.MustCompile(`adm_[a-z2-7]+`).FindString(first.output())
	if token == "" {
		t.Fatalf("no admin token printed:\n%s", first.output())
	}
	if status, body := post(first.URL+"/admin/v1/clients", token, map[string]string{"id": "acme"}); status != http.StatusCreated {
		t.Fatalf("create client with the printed token: %d %s", status, body)
	}
	first.stop(t)
	second := startBare(t, db)
	if strings.Contains(second.output(), "adm_") {
		t.Fatalf("the second start printed a token:\n%s", second.output())
	}
	if status, body := post(second.URL+"/admin/v1/clients", token, map[string]string{"id": "zeta"}); status != http.StatusCreated {
		t.Fatalf("the token stopped working after a restart: %d %s", status, body)
	}
	if status, _ := post(second.URL+"/admin/v1/clients", "adm_wrong", map[string]string{"id": "nope"}); status != http.StatusUnauthorized {
		t.Fatalf("a wrong token got %d", status)
	}
}

// SIGTERM stops the server cleanly: it exits 0, and a delivery still waiting for its retry is
// made by the next start.
func TestSIGTERMStopsCleanlyAndKeepsQueuedWork(t *testing.T) {
	rec := ibikitest.NewReceiver(t)
	db := ibikitest.DatabaseURL(t)
	slow := "IBIKI_WEBHOOK_RETRY_SCHEDULE=1s"
	srv := start(t, db, slow)
	createClient(t, srv, "acme", rec.URL)
	rec.Answer(http.StatusInternalServerError)
	if status, body := post(srv.URL+"/webhooks/extremesms", "", extremePayload("acme", "term-1", "+15551230000")); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	rec.WaitFor(t, 1) // the first attempt failed; the retry is due in a second
	srv.stop(t)
	restarted := time.Now()
	start(t, db, slow)
	got := rec.WaitFor(t, 2)
	if len(got) != 2 || got[1].At.Before(restarted) || got[1].Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
		t.Fatalf("want the retry of the same delivery after the restart; got %d requests, the last at %s (restart at %s)",
			len(got), got[len(got)-1].At.Format(time.StampMilli), restarted.Format(time.StampMilli))
	}
}

func TestMigrateAndVersionCommands(t *testing.T) {
	db := ibikitest.DatabaseURL(t)
	out, err := exec.Command(binary, "migrate", "--database-url", db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "applied migration 1") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "migrate", "--database-url", db).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "up to date") {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
	out, err = exec.Command(binary, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ibiki ") {
		t.Fatalf("version: %v\n%s", err, out)
	}
}

// startBare starts `ibiki serve` without an admin token.
func startBare(t *testing.T, db string) *instance {
	t.Helper()
	return start(t, db, "IBIKI_ADMIN_TOKEN=")
}

func (in *instance) output() string {
	b, _ := os.ReadFile(in.log)
	return string(b)
}

// stop sends SIGTERM and requires a clean exit.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Fatal("ibiki did not stop within 30s of SIGTERM")
	}
	if code := in.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("ibiki exited with %d after SIGTERM:\n%s", code, in.output())
	}
}
