package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/server/web/browsertest"
)

// TestWebUIEndToEnd drives a real headless Chromium through the web UI
// of the real demo lab (vCenter simulator, RFC 2136 DNS server), as a
// person would: log in, search, edit, meet a conflict, plan and apply the
// drift, allocate a name and an address. axe-core checks every page it
// visits; a phone viewport must not scroll sideways. With
// TANA_SCREENSHOTS=DIR it writes dashboard.png, plan.png and entry.png
// there (make screenshots).
func TestWebUIEndToEnd(t *testing.T) {
	browsertest.Chromium(t) // skips loudly without chromium, fails under CI=true
	lab := startDemo(t)
	addUser(t, lab.env, "ops", "ops-password-e2e")
	shots := os.Getenv("TANA_SCREENSHOTS")
	if shots != "" {
		shots, _ = filepath.Abs(shots)
	}

	b := browsertest.New(t)
	w := &webUser{t: t, b: b, base: lab.base, shots: shots}
	w.login("ops", "ops-password-e2e")
	w.search()
	id := w.edit("web03")
	w.conflict(lab, id)
	w.planAndApply(lab)
	w.allocate()
	for _, p := range []string{"/types", "/t/vm/new", "/plans", "/runs", "/tokens", "/permissions", "/events"} {
		w.open(p) // the rest of the navigation, through axe
	}
	w.phone(id)
}

// demoLab is a running `tana demo`.
type demoLab struct {
	dir, base string
	env       map[string]string
}

// startDemo runs the demo binary on a free port and waits until it serves.
func startDemo(t *testing.T) demoLab {
	t.Helper()
	dir := t.TempDir()
	demo := exec.Command(tanaBin, "demo", "--dir", dir, "--listen", "127.0.0.1:0", "--vms", "4")
	demo.Env = append(os.Environ(), "TANA_CONFIG=", "TANA_DB=")
	var out, errOut bytes.Buffer
	demo.Stdout, demo.Stderr = &out, &errOut
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- demo.Wait() }()
	t.Cleanup(func() {
		_ = demo.Process.Kill() // the demo serves until killed
		exit := <-exited        // killed: an error, expected
		if t.Failed() {
			t.Logf("demo (%v) stdout:\n%s\ndemo stderr:\n%s", exit, out.String(), errOut.String())
		}
	})
	base := "http://" + waitConfig(t, filepath.Join(dir, "tana.yaml"), "listen: ", exited)
	waitReady(t, base+"/readyz", exited)
	return demoLab{dir: dir, base: base, env: readEnv(t, filepath.Join(dir, "env.sh"))}
}

// addUser creates a local user in the demo's store, so the server is no
// longer open and the browser must log in.
func addUser(t *testing.T, env map[string]string, name, password string) {
	t.Helper()
	cmd := exec.Command(tanaBin, "user", "add", name, "--role", "admin", "--password-stdin")
	cmd.Env = envList(env)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tana user add: %v\n%s", err, out)
	}
}

// webUser is a person at the browser.
type webUser struct {
	t     *testing.T
	b     *browsertest.Browser
	base  string
	shots string // where screenshots go; "" for none
}

// open loads a page, checks its accessibility and that the first Tab
// reaches the skip link.
func (w *webUser) open(path string) {
	w.t.Helper()
	w.b.Navigate(w.base + path)
	w.checkPage()
}

// checkPage runs axe-core on the page shown.
func (w *webUser) checkPage() {
	w.t.Helper()
	w.b.RunAxe()
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](w *webUser, js string) T {
	w.t.Helper()
	v, err := chromedp.Run(w.b.Context(), chromedp.Evaluate[T](js))
	if err != nil {
		w.t.Fatalf("evaluate %s: %v", js, err)
	}
	w.b.Check()
	return v
}

// text is the text of the first element matching sel.
func (w *webUser) text(sel string) string {
	w.t.Helper()
	v, err := chromedp.Run(w.b.Context(), chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// path is the page's path and query.
func (w *webUser) path() string {
	w.t.Helper()
	return eval[string](w, "location.pathname + location.search")
}

// submit clicks sel, which loads a new document, and waits for it. The old
// document is marked, so a page that did not change is caught.
func (w *webUser) submit(sel string) {
	w.t.Helper()
	eval[bool](w, `document.documentElement.dataset.e2eOld = "1", true`)
	w.b.Run(chromedp.Click(chromedp.CSS(sel)))
	w.waitNewPage(sel)
}

// waitNewPage waits for a new, fully loaded document.
func (w *webUser) waitNewPage(what string) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		// Errors are expected while the old document goes away.
		done, err := chromedp.Run(w.b.Context(), chromedp.Evaluate[bool](`document.readyState === "complete" && !document.documentElement.dataset.e2eOld`))
		if err == nil && done {
			w.b.Check()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("no new page after %s (at %s)", what, w.path())
}

// typeInto replaces the value of a field by typing, as a person would.
func (w *webUser) typeInto(sel, value string) {
	w.t.Helper()
	eval[bool](w, fmt.Sprintf(`document.querySelector(%q).value = "", true`, sel))
	w.b.Run(chromedp.SendKeys(chromedp.CSS(sel), value))
}

// choose picks an option of a select with the keyboard: focus, then
// type the option's first letters, as a person does.
func (w *webUser) choose(sel, option string) {
	w.t.Helper()
	w.b.Run(chromedp.Focus(chromedp.CSS(sel)), chromedp.KeyEvent(option))
	if got := eval[string](w, fmt.Sprintf(`document.querySelector(%q).value`, sel)); got != option {
		w.t.Fatalf("%s: chose %q, want %q", sel, got, option)
	}
}

// shot writes a desktop screenshot of the page shown, when asked for.
func (w *webUser) shot(name string) {
	w.t.Helper()
	if w.shots != "" {
		w.b.Screenshot(filepath.Join(w.shots, name))
	}
}

// login: / sends a visitor to the login form; logging in lands on the
// dashboard with the drift by kind.
func (w *webUser) login(user, password string) {
	w.t.Helper()
	w.b.Navigate(w.base + "/")
	if p := w.path(); !strings.HasPrefix(p, "/login?next=") {
		w.t.Fatalf("/ without a login: at %s, want the login page", p)
	}
	w.checkPage()
	w.typeInto("#user", user)
	w.typeInto("#password", "wrong")
	w.b.Allow("status of 401") // a refused login answers 401 with the form
	w.submit(`form[action="/login"] button[type="submit"]`)
	if got := w.text(`[role="alert"]`); !strings.Contains(got, "password") && !strings.Contains(got, "user") {
		w.t.Errorf("a wrong password says: %q", got)
	}
	w.typeInto("#user", user)
	w.typeInto("#password", password)
	eval[bool](w, `document.documentElement.dataset.e2eOld = "1", true`)
	w.b.Run(chromedp.SendKeys(chromedp.CSS("#password"), kb.Enter)) // Enter submits, as people do
	w.waitNewPage("log in")
	if p := w.path(); p != "/" {
		w.t.Fatalf("after logging in: at %s, want /", p)
	}
	kinds := w.text(`#drift-h ~ table`)
	if !strings.Contains(kinds, "missing_in_reality") || !strings.Contains(kinds, "conflict") {
		w.t.Errorf("dashboard's drift by kind: %q", kinds)
	}
	if who := w.text(".who"); !strings.Contains(who, user) {
		w.t.Errorf("the header names %q, want %s", who, user)
	}
	w.checkPage()
	w.cardsHoldTables()
	w.shot("dashboard.png")
	w.tabToSkipLink()
}

// cardsHoldTables: no dashboard card's table spills out of it.
func (w *webUser) cardsHoldTables() {
	w.t.Helper()
	spill := eval[string](w, `[...document.querySelectorAll(".card")].filter(c => [...c.querySelectorAll("table")].some(t =>
	  t.getBoundingClientRect().right > c.getBoundingClientRect().right + 1)).map(c => c.querySelector("h2").textContent).join(", ")`)
	if spill != "" {
		w.t.Errorf("tables spill out of the dashboard's cards: %s", spill)
	}
}

// tabToSkipLink: a fresh page's first Tab reaches the skip link.
func (w *webUser) tabToSkipLink() {
	w.t.Helper()
	w.b.Navigate(w.base + "/")
	w.b.Run(chromedp.KeyEvent(kb.Tab))
	if got := eval[string](w, `document.activeElement.className + " " + document.activeElement.getAttribute("href")`); got != "skip #main" {
		w.t.Errorf("first Tab focuses %q, want the skip link", got)
	}
}

// rows lists the names in the result table.
func (w *webUser) rows() string {
	w.t.Helper()
	return eval[string](w, `[...document.querySelectorAll("#results tbody td:first-child a")].map(a => a.textContent).join(" ")`)
}

// search: typing in the box swaps #results in place (no reload, the URL
// follows); the plain GET form works with JavaScript off.
func (w *webUser) search() {
	w.t.Helper()
	w.open("/t/vm")
	all := w.rows()
	if !strings.Contains(all, "web03") || !strings.Contains(all, "web09") {
		w.t.Fatalf("/t/vm lists %q", all)
	}
	eval[bool](w, `window.e2eSamePage = true`)
	w.b.Run(chromedp.SendKeys(chromedp.CSS("#q"), "web0"))
	w.waitRows("web0", all)
	w.b.Run(chromedp.SendKeys(chromedp.CSS("#q"), "3"))
	if got := w.waitRows("web03", all); got != "web03" {
		w.t.Errorf("search web03 lists %q", got)
	}
	if !eval[bool](w, `window.e2eSamePage === true`) {
		w.t.Error("the search reloaded the page: htmx should swap #results only")
	}
	if p := w.path(); p != "/t/vm?q=web03" && !strings.HasPrefix(p, "/t/vm?q=web03&") {
		w.t.Errorf("after the search the address is %s, want /t/vm?q=web03…", p)
	}
	w.checkPage()

	// Without JavaScript: the address, and the form sent by Enter.
	w.scripts(false)
	w.b.Navigate(w.base + "/t/vm?q=web03")
	if got := w.rows(); got != "web03" {
		w.t.Errorf("GET /t/vm?q=web03 without JavaScript lists %q", got)
	}
	w.typeInto("#q", "web04")
	eval[bool](w, `document.documentElement.dataset.e2eOld = "1", true`)
	w.b.Run(chromedp.SendKeys(chromedp.CSS("#q"), kb.Enter))
	w.waitNewPage("search without JavaScript")
	if got := w.rows(); got != "web04" {
		w.t.Errorf("the search form without JavaScript lists %q", got)
	}
	w.scripts(true)
}

// scripts turns JavaScript on or off in the tab.
func (w *webUser) scripts(on bool) {
	w.t.Helper()
	if _, err := chromedp.Call(w.b.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		w.t.Fatalf("JavaScript on=%v: %v", on, err)
	}
}

// waitRows waits until the results differ from before and contain only
// names with prefix.
func (w *webUser) waitRows(prefix, before string) string {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		got = w.rows()
		ok := got != before && got != ""
		for _, n := range strings.Fields(got) {
			ok = ok && strings.HasPrefix(n, prefix)
		}
		if ok {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("typing %q: results still %q", prefix, got)
	return ""
}

// attr is the value of an attribute on the entry page shown.
func (w *webUser) attr(name string) string {
	w.t.Helper()
	return eval[string](w, fmt.Sprintf(`(() => { for (const th of document.querySelectorAll("table[aria-labelledby=attrs-h] tbody th")) {
	  if (th.textContent.trim().split(" ")[0] === %q) return th.nextElementSibling.textContent.trim(); } return "(absent)"; })()`, name))
}

// edit: the VM's page → Edit → change the owner with a reason → the page
// shows it and its history the change with the reason. It returns the
// entry's page path.
func (w *webUser) edit(vm string) string {
	w.t.Helper()
	w.b.Navigate(w.base + "/t/vm?q=" + vm)
	w.submit(`#results a[href^="/e/"]`)
	entry := w.path()
	if got := w.text("h1"); !strings.Contains(got, vm) {
		w.t.Fatalf("clicked %s, at %s %q", vm, entry, got)
	}
	w.checkPage()
	w.submit(`a.button[href$="/edit"]`)
	w.checkPage()
	w.typeInto("#f-owner", "team-platform")
	w.typeInto("#f-reason", "e2e: the platform team takes web03")
	w.submit(`form.stack button[type="submit"]`)
	if p := w.path(); p != entry && !strings.HasPrefix(p, entry+"?") {
		w.t.Fatalf("after saving: at %s, want %s", p, entry)
	}
	if got := w.attr("owner"); got != "team-platform" {
		w.t.Errorf("owner after saving: %q", got)
	}
	hist := w.text("ol.history li")
	if !strings.Contains(hist, "e2e: the platform team takes web03") || !strings.Contains(hist, "team-web") || !strings.Contains(hist, "team-platform") {
		w.t.Errorf("the newest history item: %q", hist)
	}
	w.checkPage()
	w.shot("entry.png")
	return entry
}

// conflict: someone changes the entry with the CLI while the form is open;
// sending the form shows both versions; sending it again saves it.
func (w *webUser) conflict(lab demoLab, entry string) {
	w.t.Helper()
	w.b.Allow("status of 409") // the conflict page answers 409 Conflict
	w.open(entry + "/edit")
	tana(w.t, lab.env, 0, "set", "vm", "web03", "role=cache", "--reason", "behind the form's back")
	w.typeInto("#f-role", "edge")
	w.submit(`form.stack button[type="submit"]`)
	both := w.text("section.conflict")
	if !strings.Contains(both, "edge") || !strings.Contains(both, "cache") {
		w.t.Fatalf("the conflict screen shows %q, want mine (edge) and theirs (cache)", both)
	}
	w.checkPage()
	w.submit(`form.stack button[type="submit"]`)
	if got := w.attr("role"); got != "edge" {
		w.t.Errorf("role after saving over the conflict: %q", got)
	}
	if got := w.attr("owner"); got != "team-platform" {
		w.t.Errorf("owner after the conflict: %q, want it kept", got)
	}
}

// planAndApply: the drift page → Plan fixes for these → the plan grouped
// by action, old → new → Apply → applied; a new collection finds no drift
// and the DNS server has the record.
func (w *webUser) planAndApply(lab demoLab) {
	w.t.Helper()
	w.open("/drift")
	w.submit(`form[action="/plans"] button[type="submit"]`)
	if p := w.path(); !strings.HasPrefix(p, "/plans/") {
		w.t.Fatalf("after planning: at %s", p)
	}
	groups := eval[string](w, `[...document.querySelectorAll("main h2")].map(h => h.textContent.trim().split(/\s+/)[0]).join(" ")`)
	if groups != "create delete" {
		w.t.Errorf("plan groups: %q, want create delete", groups)
	}
	body := w.text("main")
	for _, want := range []string{"web09.lab.example.com.", "old-mail.lab.example.com.", "192.0.2.99"} {
		if !strings.Contains(body, want) {
			w.t.Errorf("the plan does not show %s:\n%s", want, body)
		}
	}
	w.checkPage()
	w.shot("plan.png")
	w.submit(`form[action$="/apply"] button[type="submit"]`)
	if got := w.text(`.notice[role="status"]`); !strings.Contains(got, "applied") {
		w.t.Errorf("after Apply the page says %q", got)
	}
	w.checkPage()
	server := configValue(filepath.Join(lab.dir, "tana.yaml"), "server: ")
	expectRR(w.t, server, "web09.lab.example.com.", dns.TypeA, "192.0.2.99")
	expectRR(w.t, server, "old-mail.lab.example.com.", dns.TypeA, "")
	tana(w.t, lab.env, 0, "collect")
	if out := tana(w.t, lab.env, 0, "drift"); strings.Contains(out, "web09") || strings.Contains(out, "old-mail") {
		w.t.Errorf("drift after apply and collect:\n%s", out)
	}
	// What is left is the edits above, to be pushed to vCenter.
	if plan := tana(w.t, lab.env, 0, "plan"); !strings.Contains(plan, "update vm.owner: team-web → team-platform") || strings.Contains(plan, "dns_record") {
		w.t.Errorf("plan after apply and collect:\n%s", plan)
	}
}

// allocate: lab-names and lab-ips for a vm with DNS → a name and an
// address, shown, and the new VM's page exists.
func (w *webUser) allocate() {
	w.t.Helper()
	w.open("/allocate")
	w.choose("#name_pool", "lab-names")
	w.choose("#ip_pool", "lab-ips")
	w.typeInto("#type", "vm")
	w.typeInto("#reason", "e2e: a new service")
	if !eval[bool](w, `document.querySelector("#dns").checked`) {
		w.b.Run(chromedp.Click(chromedp.CSS("#dns")))
	}
	if !eval[bool](w, `document.querySelector("#dns").checked`) {
		w.t.Fatal("the DNS box is not checked")
	}
	w.submit(`form[action="/allocate"] button[type="submit"]`)
	granted := w.text("#granted-h + ul")
	if !strings.Contains(granted, "svc01") || !strings.Contains(granted, "192.0.2.") || !strings.Contains(granted, "DNS name") {
		w.t.Fatalf("granted: %q", granted)
	}
	w.checkPage()
	w.submit(`section[aria-labelledby="granted-h"] a[href^="/t/vm/"]`)
	if got := w.text("h1"); !strings.Contains(got, "svc01") {
		w.t.Fatalf("the new VM's page: %q", got)
	}
	if ip := w.attr("ip"); !strings.HasPrefix(ip, "192.0.2.") {
		w.t.Errorf("the new VM's ip: %q", ip)
	}
	w.checkPage()
}

// phone: the dashboard, a list and an entry fit a phone's width (wide
// tables scroll inside their box).
func (w *webUser) phone(entry string) {
	w.t.Helper()
	w.b.Phone()
	defer w.b.Desktop()
	for _, p := range []string{"/", "/t/vm", entry, "/drift?resolved=1"} {
		w.open(p)
		if wide := eval[string](w, `document.documentElement.scrollWidth > window.innerWidth ? document.documentElement.scrollWidth + " > " + window.innerWidth : ""`); wide != "" {
			w.t.Errorf("%s scrolls sideways on a phone: %s", p, wide)
		}
	}
}
