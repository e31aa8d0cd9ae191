// Package browsertest drives a real headless Chromium (through chromedp)
// for the web UI's end-to-end tests. A Browser fails its test on any
// console error, uncaught exception or browser-log error (a CSP refusal, a
// failed load) and on any request to a URL that is not loopback: tana's
// pages must work air-gapped. RunAxe checks a page's accessibility with
// the vendored axe-core.
//
// Without Chromium a test skips loudly on a workstation and fails in CI
// (CI=true), where .ci/run installs it.
package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Timeout bounds one Browser's whole life, so a hung page fails the test
// instead of the suite's deadline.
const Timeout = 3 * time.Minute

// Desktop and phone viewports, in CSS pixels.
const (
	DesktopWidth, DesktopHeight = 1280, 800
	PhoneWidth, PhoneHeight     = 390, 844
)

// Chromium finds a Chromium to drive. Without one the test skips loudly
// on a workstation and fails in CI (CI=true), where .ci/run installs it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: the browser test cannot run (apt-get install chromium)")
	}
	t.Skip("SKIPPED LOUDLY: no chromium on PATH, the browser test does not run here (apt-get install chromium)")
	return ""
}

// AllocatorOptions are the flags tana's browser tests start Chromium
// with: headless, a profile of the test's own, and none of the browser's
// own background traffic (updates, sync, QUIC probes).
func AllocatorOptions(t testing.TB) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(DesktopWidth, DesktopHeight),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
	}
}

// Browser is one headless Chromium with one tab, watched for problems.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	problems []string // not yet reported
	allowed  []string // substrings of console messages a test expects
}

// New starts Chromium for t (closed when t ends) with a desktop
// viewport. Problems found after the last check fail t at its end.
func New(t testing.TB) *Browser {
	t.Helper()
	opts := AllocatorOptions(t)
	b := &Browser{t: t}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(b.onEvent))
	b.ctx = bctx
	messages := chromedp.Console(bctx) // starts the browser and subscribes before any page loads
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return // the browser went away: the test's own calls report it
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.problem("console %s", describe(m))
			}
		}
	}()
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		<-done
		b.report(t.Errorf)
	})
	b.Run(chromedp.EmulateViewport(DesktopWidth, DesktopHeight))
	return b
}

func describe(m chromedp.ConsoleMessage) string {
	s := m.String()
	if m.Source != "" {
		s = m.Source + " " + s
	}
	if m.URL != "" {
		s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
	}
	return s
}

// onEvent runs on chromedp's reading goroutine: it only records.
func (b *Browser) onEvent(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request != nil && !Local(ev.Request.URL) {
			b.problem("request to %s leaves the test server (from %s)", ev.Request.URL, ev.DocumentURL)
		}
	case *network.EventWebSocketCreated:
		if !Local(ev.URL) {
			b.problem("websocket to %s leaves the test server", ev.URL)
		}
	}
}

// Local reports whether a URL the browser loads stays on this machine:
// http(s) and ws(s) to a loopback address or localhost, or a URL with no
// network behind it (data:, blob:, about:).
func Local(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about":
		return true
	case "http", "https", "ws", "wss":
		host := u.Hostname()
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

func (b *Browser) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.allowed {
		if strings.Contains(msg, a) {
			return
		}
	}
	b.problems = append(b.problems, msg)
}

// report hands the problems found since the last report to fail.
func (b *Browser) report(fail func(format string, args ...any)) bool {
	b.mu.Lock()
	found := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range found {
		fail("browser: %s", p)
	}
	return len(found) > 0
}

// Allow tolerates console messages (and requests) whose text contains
// substr, for a test that provokes an error on purpose (a 409 page logs
// "the server responded with a status of 409").
func (b *Browser) Allow(substr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, substr)
}

// Check fails the test now if the browser has seen a problem.
func (b *Browser) Check() {
	b.t.Helper()
	if b.report(b.t.Errorf) {
		b.t.FailNow()
	}
}

// Context is the tab's chromedp context, for chromedp.Run and friends.
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs chromedp actions in the tab and fails the test on an error or
// on a problem the browser saw meanwhile.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.report(b.t.Errorf)
		b.t.Fatalf("browser: %v", err)
	}
	b.Check()
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Run(chromedp.Navigate(url))
}

// Desktop sets the 1280×800 viewport (the default).
func (b *Browser) Desktop() {
	b.t.Helper()
	b.Run(chromedp.EmulateViewport(DesktopWidth, DesktopHeight))
}

// Phone sets a phone's viewport: 390×844 CSS pixels at twice the density,
// mobile and touch, as an iPhone 12–15 reports itself.
func (b *Browser) Phone() {
	b.t.Helper()
	b.Run(chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
}

// Screenshot writes the viewport as a PNG to path (its directory made if
// missing).
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
}
