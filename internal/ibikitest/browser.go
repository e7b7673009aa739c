package ibikitest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests drive a headless Chromium through chromedp (v0.23: actions are
// chromedp.Action[T], run with chromedp.Do / chromedp.Run).
//
// Environment:
//   - IBIKI_CHROMIUM: the Chromium binary (default /usr/bin/chromium; scripts/install-browser
//     installs Debian's chromium package there).
//   - IBIKI_TEST_BROWSER=required: a missing Chromium fails the test instead of skipping it
//     (scripts/test sets it).
//   - IBIKI_TEST_ARTIFACTS: where screenshots go (default <repo root>/artifacts; a relative
//     path is relative to the repo root).

// ActionTimeout bounds each Run, Get and Screenshot call.
const ActionTimeout = 20 * time.Second

// browserStartTimeout bounds the start of Chromium in NewBrowser.
const browserStartTimeout = 60 * time.Second

// browserCloseTimeout bounds the graceful close of Chromium when the test ends.
const browserCloseTimeout = 10 * time.Second

// ChromiumPath returns the Chromium binary the browser tests use: $IBIKI_CHROMIUM, or
// /usr/bin/chromium.
func ChromiumPath() string {
	if p := os.Getenv("IBIKI_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func browserRequired() bool {
	return strings.EqualFold(os.Getenv("IBIKI_TEST_BROWSER"), "required")
}

// NewBrowser starts a headless Chromium of its own for the test, with a fresh profile, and
// returns the chromedp context of its first tab. Run actions on it with Run, Get, chromedp.Do
// or chromedp.Run; derive per-action timeouts from it with context.WithTimeout (Run and Get
// do), never put a timeout on the returned context itself. The browser is closed when the
// test ends.
//
// When Chromium is missing the test is skipped, or fails if IBIKI_TEST_BROWSER=required.
// A Chromium that is there but does not start fails the test.
func NewBrowser(t testing.TB) context.Context {
	t.Helper()
	path := ChromiumPath()
	exe, err := exec.LookPath(path)
	if err != nil {
		msg := fmt.Sprintf("browser: Chromium not found at %s (%v): run scripts/install-browser, or set IBIKI_CHROMIUM", path, err)
		if browserRequired() {
			t.Fatal(msg + " (IBIKI_TEST_BROWSER=required)")
		}
		t.Skip(msg)
	}

	// The profile is a subdirectory of t.TempDir so that it is removed (with retries) once
	// Chromium has exited, before the testing package removes the TempDir itself.
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	output := &tailBuffer{max: 16 << 10}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root here; Chromium refuses to start sandboxed as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)

	outputShown := false
	t.Cleanup(func() {
		if t.Failed() && !outputShown {
			if out := output.String(); out != "" {
				t.Logf("browser: last Chromium output (D-Bus noise left out):\n%s", out)
			}
		}
		closeCtx, closeCancel := context.WithTimeout(ctx, browserCloseTimeout)
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("browser: closing Chromium: %v", err)
		}
		closeCancel()
		cancel()
		allocCancel()
		if err := removeAllRetry(profile); err != nil {
			t.Logf("browser: removing the Chromium profile: %v", err)
		}
	})

	// The first action starts the browser. It must run on ctx itself (a timeout on it would
	// bound the browser's whole life), so the start timeout is enforced here.
	start := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			outputShown = true
			out := "Chromium output (D-Bus noise left out):\n" + orNone(output.String()) + "\n"
			if strings.Contains(err.Error(), "chrome failed to start") {
				out = "" // chromedp's error already holds Chromium's output
			}
			t.Fatalf("browser: Chromium (%s) did not start: %v\n%s(run scripts/install-browser; IBIKI_CHROMIUM selects another binary)",
				exe, err, out)
		}
	case <-time.After(browserStartTimeout):
		cancel()
		outputShown = true
		t.Fatalf("browser: Chromium (%s) did not start within %s\nChromium output (D-Bus noise left out):\n%s",
			exe, browserStartTimeout, orNone(output.String()))
	}
	t.Logf("browser: Chromium started in %s", time.Since(start).Round(time.Millisecond))
	return ctx
}

// Run runs the actions on the browser context ctx (from NewBrowser) within ActionTimeout.
// On failure it takes a screenshot and fails the test, naming what was being done.
func Run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		Screenshot(t, ctx, "failed-"+what)
		t.Fatalf("browser: %s: %v", what, actionError(err))
	}
}

// Get runs one action that returns a value (chromedp.Text, chromedp.Value, chromedp.Location,
// chromedp.Evaluate[T], ...) like Run does, and returns the value.
func Get[T any](t testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, action)
	if err != nil {
		Screenshot(t, ctx, "failed-"+what)
		t.Fatalf("browser: %s: %v", what, actionError(err))
	}
	return v
}

// actionError says which timeout ran out: chromedp's waits (WaitVisible, ...) retry until
// the context ends, so a missing element shows up as a deadline.
func actionError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s (%w)", ActionTimeout, err)
	}
	return err
}

// Screenshot saves a full-page PNG of the browser context ctx to
// <artifacts>/screenshots/<TestName>/<NN>-<name>.png, NN counting up within the test, and
// logs the path. It never fails the test: a screenshot that cannot be taken or written is
// only logged.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir, err := screenshotDir(t)
	if err != nil {
		t.Logf("browser: screenshot %q not saved: %v", name, err)
		return
	}
	n := nextScreenshot(t.Name(), dir)
	sctx, cancel := context.WithTimeout(ctx, ActionTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		t.Logf("browser: screenshot %q not taken: %v", name, err)
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", n, sanitizeName(name, 80)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("browser: screenshot %q not saved: %v", name, err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("browser: screenshot %q not saved: %v", name, err)
		return
	}
	t.Logf("browser: screenshot %s", path)
}

var screenshots struct {
	sync.Mutex
	count map[string]int // by test name
}

// nextScreenshot returns the next screenshot number of the test. Before the first one of the
// test in this process, it removes the screenshots a previous run left in dir, so that the
// directory shows this run only.
func nextScreenshot(test, dir string) int {
	screenshots.Lock()
	defer screenshots.Unlock()
	if screenshots.count == nil {
		screenshots.count = map[string]int{}
	}
	if screenshots.count[test] == 0 {
		old, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9]*-*.png"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	screenshots.count[test]++
	return screenshots.count[test]
}

// screenshotDir is <artifacts>/screenshots/<TestName>, a subtest in a subdirectory.
func screenshotDir(t testing.TB) (string, error) {
	base, err := ArtifactsDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "screenshots")
	for _, part := range strings.Split(t.Name(), "/") {
		dir = filepath.Join(dir, sanitizeName(part, 120))
	}
	return dir, nil
}

// ArtifactsDir is where tests leave files for people to look at: $IBIKI_TEST_ARTIFACTS
// (relative to the repo root when relative), or <repo root>/artifacts.
func ArtifactsDir() (string, error) {
	env := os.Getenv("IBIKI_TEST_ARTIFACTS")
	if env != "" && filepath.IsAbs(env) {
		return env, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if env != "" {
		return filepath.Join(root, env), nil
	}
	return filepath.Join(root, "artifacts"), nil
}

// repoRoot walks up from the working directory (a test's package directory) to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set IBIKI_TEST_ARTIFACTS")
		}
		dir = parent
	}
}

// sanitizeName keeps letters, digits, '.', '-' and '_' (anything else becomes '_', runs
// collapsed) and at most max bytes, so that s is a safe file name.
func sanitizeName(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		ok := r == '.' || r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			r = '_'
		}
		if r == '_' && strings.HasSuffix(b.String(), "_") {
			continue
		}
		b.WriteRune(r)
	}
	out := strings.Trim(b.String(), "_.")
	if len(out) > max {
		out = strings.TrimRight(out[:max], "_.")
	}
	if out == "" {
		return "unnamed"
	}
	return out
}

// removeAllRetry removes dir, retrying briefly: Chromium's helper processes can still be
// writing to the profile for a moment after the browser exits.
func removeAllRetry(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

// tailBuffer keeps the last max bytes written to it. chromedp writes Chromium's output to it
// from its own goroutine.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

// String returns the kept output without the D-Bus errors that Chromium prints by the dozen
// on machines without a D-Bus (containers, CI); they are noise, never the cause of a failure.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out strings.Builder
	for line := range strings.Lines(string(b.buf)) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			out.WriteString(line)
		}
	}
	return out.String()
}
