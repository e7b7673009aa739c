// Package smpptest runs node-smpp (a third-party SMPP implementation, ../shared/smpp) for
// tests: the SMSC simulator as a real process. scripts/ensure-smpp-peer installs it and names
// its directory in IBIKI_TEST_SMPP_PEER; without it the tests skip, unless IBIKI_TEST_SMPP is
// "required" (scripts/test), when they fail.
package smpptest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Sim is a running SMSC simulator.
type Sim struct {
	Addr    string // the SMPP address, host:port
	Control string // the control plane's base URL (GET /mo, /stats)
	cmd     *exec.Cmd
	env     []string
	script  string
}

// PeerDir is node-smpp's directory (IBIKI_TEST_SMPP_PEER), or skips the test (fails it when
// IBIKI_TEST_SMPP=required).
func PeerDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("IBIKI_TEST_SMPP_PEER")
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "smpp")); err == nil {
			return dir
		}
	}
	msg := "node-smpp not installed: run scripts/ensure-smpp-peer and set IBIKI_TEST_SMPP_PEER to the directory it prints"
	if os.Getenv("IBIKI_TEST_SMPP") == "required" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// StartSim starts smsc-sim.js on free ports with the environment given (SYSTEM_ID, PASSWORD,
// DLR_STAT, DLR_DELAY_MS...), and stops it when the test ends.
func StartSim(t testing.TB, env ...string) *Sim {
	t.Helper()
	dir := PeerDir(t)
	smppPort, controlPort := freePort(t), freePort(t)
	s := &Sim{Addr: fmt.Sprintf("127.0.0.1:%d", smppPort), Control: fmt.Sprintf("http://127.0.0.1:%d", controlPort),
		env: append(os.Environ(), append([]string{"NODE_PATH=" + filepath.Join(dir, "node_modules"), "QUIET=1",
			"SMPP_PORT=" + strconv.Itoa(smppPort), "CONTROL_PORT=" + strconv.Itoa(controlPort)}, env...)...),
		script: filepath.Join(dir, "smsc-sim.js")}
	t.Cleanup(s.Stop)
	s.start(t)
	return s
}

// Restart starts the simulator again on the same ports (after Stop), with its counters reset.
func (s *Sim) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

func (s *Sim) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command("node", s.script)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("smpptest: start the simulator: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smpptest: the simulator does not listen on %s: %v", s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the simulator (as a crash would).
func (s *Sim) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Get calls the control plane (path with its query, e.g. "/mo?from=...&text=...") and returns
// the answer's status and body.
func (s *Sim) Get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Control+path, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RunClient runs client.js (node-smpp as an ESME) against the SMPP server at addr, with the
// simulator's control plane for its MO (nil: none) and the environment given (SYSTEM_ID,
// PASSWORD, N, WINDOW, TIMEOUT_MS...), and returns its output and whether it printed OK and
// exited 0.
func RunClient(t testing.TB, addr string, sim *Sim, env ...string) (string, bool) {
	t.Helper()
	dir := PeerDir(t)
	cmd := exec.Command("node", filepath.Join(dir, "client.js"), "smpp://"+addr)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	if sim != nil {
		cmd.Env = append(cmd.Env, "CONTROL_URL="+sim.Control)
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}
