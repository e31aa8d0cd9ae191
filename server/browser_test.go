package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/server/web/browsertest"
)

// attackPage is a page on another site that tries what a browser lets any
// page do without asking: POST a text/plain body with fetch (no-cors),
// POST JSON with fetch (no-cors drops the content type), and submit a
// text/plain form whose body is JSON. Each would create a VM.
const attackPage = `<!DOCTYPE html>
<html><body>
<iframe name="sink"></iframe>
<script>
const target = %q;
const body = (name) => JSON.stringify({query: 'mutation { createVm(name: "' + name + '") { name } }'});
async function attack() {
  const tries = [
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: body("csrf-fetch-text")},
    {method: "POST", mode: "no-cors", body: body("csrf-fetch-default")},
    {method: "POST", mode: "no-cors", headers: {"Content-Type": "application/json"}, body: body("csrf-fetch-json")},
  ];
  for (const init of tries) {
    try { await fetch(target, init); } catch (e) {}
  }
  const form = document.createElement("form");
  form.method = "POST"; form.action = target; form.enctype = "text/plain"; form.target = "sink";
  const input = document.createElement("input");
  input.name = '{"query":"mutation { createVm(name: \\"csrf-form\\") { name } }","x":"';
  input.value = '"}';
  form.appendChild(input);
  document.body.appendChild(form);
  form.submit();
  setTimeout(() => { document.title = "done"; }, 1000);
}
attack();
</script>
</body></html>`

// TestCrossOriginBrowser drives headless Chromium to a page on another
// site (localhost, while tana is on 127.0.0.1) that attacks an open tana
// server: the requests arrive, and no VM is created.
func TestCrossOriginBrowser(t *testing.T) {
	opts := browsertest.AllocatorOptions(t) // skips loudly without chromium, fails under CI=true
	s := inventorytest.Open(t, "sqlite")
	srv, err := New(Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	tana := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer tana.Close()
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, attackPage, tana.URL+"/graphql") // a browser that went away fails the test below
	}))
	defer attacker.Close()
	attackerURL := strings.Replace(attacker.URL, "127.0.0.1", "localhost", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate(attackerURL)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.title === "done"`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the attack page did not finish: %v", err)
	}
	for wait := time.Now().Add(10 * time.Second); posts.Load() < 4 && time.Now().Before(wait); {
		time.Sleep(50 * time.Millisecond) // the form may still be on its way
	}
	if n := posts.Load(); n < 4 {
		t.Fatalf("only %d of the page's 4 POSTs reached tana: the test proves nothing", n)
	}
	n, err := s.Count(context.Background(), inventory.Query{Type: "vm", IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the page on another origin created %d VMs", n)
	}
}
