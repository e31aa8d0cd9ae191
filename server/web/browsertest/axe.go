package browsertest

import (
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"

	"github.com/tana-cmdb/tana/server/web/assets"
)

// Violation is one axe-core rule a page breaks, with the elements that
// break it (CSS selectors).
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"` // minor, moderate, serious, critical
	Help    string   `json:"help"`
	HelpURL string   `json:"helpUrl"`
	Nodes   []string `json:"nodes"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s, at %s — %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "; "), v.HelpURL)
}

// axeRun runs every WCAG 2.x A/AA rule and best practice on the document
// and keeps what the report needs.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
  nodes: v.nodes.map(n => n.target.join(" "))
})))`

// RunAxe runs the vendored axe-core on the current page and fails the
// test on a serious or critical violation; it returns all violations,
// minor and moderate ones included, for a test that wants to look.
// axe is injected through DevTools, which the page's CSP does not govern,
// so the pages need not allow it.
func (b *Browser) RunAxe() []Violation {
	b.t.Helper()
	src, err := assets.File("vendor/axe.min.js")
	if err != nil {
		b.t.Fatal(err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](string(src)+"\n;typeof axe === 'object'")); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	bad := 0
	for _, v := range found {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("accessibility: %s", v)
			bad++
		}
	}
	if bad > 0 {
		b.t.FailNow()
	}
	b.Check()
	return found
}
