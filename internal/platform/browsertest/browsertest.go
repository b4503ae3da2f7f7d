// Package browsertest drives a real headless Chromium from tests, through
// the DevTools protocol (github.com/chromedp/chromedp): one browser process
// per test binary, one tab per test.
//
// Use it from TestMain, so the browser stops with the binary:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		browsertest.Stop()
//		os.Exit(code)
//	}
//
// and open a tab in each test with Tab(t). Without a Chromium (Debian's
// chromium package: /usr/bin/chromium; `make test` installs it) the test is
// skipped with a loud message, except under CI=true where a missing
// browser is a failure.
package browsertest

import (
	"bytes"
	"context"
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

// browser is per test binary: one Chromium for all tests of a package.
var browser struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; new tabs derive from it
	stop    func()
	dataDir string
	err     error
}

// startTimeout bounds the browser's start.
const startTimeout = 30 * time.Second

// Candidates are the executables tried in order (CHROMIUM names another).
var Candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Stop ends the browser (if it was started) and removes its profile.
func Stop() {
	if browser.stop != nil {
		browser.stop()
	}
	if browser.dataDir != "" {
		_ = os.RemoveAll(browser.dataDir)
	}
}

// Path finds the Chromium executable: $CHROMIUM, else the first of
// Candidates on PATH.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, c := range Candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %v on PATH (Debian: apt-get install chromium)", Candidates)
}

// output keeps Chromium's stderr, to explain a start that failed.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.buf.Len() < 64<<10 {
		o.buf.Write(p)
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func start() {
	path, err := Path()
	if err != nil {
		browser.err = err
		return
	}
	dir, err := os.MkdirTemp("", "openagg-chromium-")
	if err != nil {
		browser.err = fmt.Errorf("chromium profile dir: %w", err)
		return
	}
	browser.dataDir = dir
	out := &output{}
	// The machine may have no network: without these flags Chromium waits
	// on lookups (component updates, sync, field trials) at start.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	browser.stop = func() { cancelCtx(); cancelAlloc() }
	// The first Do starts the browser process; its life is ctx's, so the
	// start is bounded apart (a browser that hangs is stopped).
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no answer after %s", startTimeout)
	}
	if err != nil {
		browser.err = fmt.Errorf("start %s: %w; its output: %s", path, err, out.String())
		browser.stop()
		return
	}
	browser.ctx = ctx
}

// Tab opens a new tab in the test binary's browser, starting it on first
// use; the tab closes when the test ends. Its actions time out after a
// minute (a hung page fails the test instead of the whole binary).
func Tab(t testing.TB) context.Context {
	t.Helper()
	browser.once.Do(start)
	if browser.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a headless Chromium is required under CI=true: %v", browser.err)
		}
		t.Skipf("SKIPPING BROWSER TEST: Chromium not available (%v); install it with `apt-get install chromium` or run make test", browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// Phone is a phone-sized viewport: 375 × 667 CSS pixels at 2×, mobile,
// touch, portrait (an iPhone SE).
func Phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(375, 667, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
}

// Screenshot saves a full-page PNG of the tab as <test>-<name>.png in the
// test's artifact directory (testing.T.ArtifactDir: kept under -outputdir
// with go test -artifacts, as make test runs) and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := artifactDir(t)
	path := filepath.Join(dir, strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// artifactDir is t's artifact directory (testing.T.ArtifactDir).
func artifactDir(t testing.TB) string {
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		return a.ArtifactDir()
	}
	return t.TempDir()
}
