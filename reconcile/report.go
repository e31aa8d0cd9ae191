package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Report is a drift report: counts first, then the items. New items were
// first seen since Since; Resolved ones were fixed since then.
type Report struct {
	ID        string                `json:"id,omitempty"`
	Schedule  string                `json:"schedule,omitempty"`
	CreatedAt time.Time             `json:"created_at"`
	Since     time.Time             `json:"since"`
	Summary   Summary               `json:"summary"`
	Open      []Item                `json:"open"`
	Resolved  []Item                `json:"resolved"`
	Runs      []inventory.RunRecord `json:"runs"`
	// Pools are the allocation pools near exhaustion.
	Pools []PoolUsage `json:"pools,omitempty"`
	// Digest is how the open drift differs from the last report posted,
	// in the reports of a schedule that posts only on change.
	Digest *Digest `json:"digest,omitempty"`
}

// PoolUsage is how full an allocation pool is.
type PoolUsage struct {
	Pool string `json:"pool"`
	Size int64  `json:"size"` // -1: no end
	Used int    `json:"used"` // granted and held
	Free int64  `json:"free"`
}

// NearlyFull is the share of a pool in use from which reports list it.
const NearlyFull = 0.9

func (u PoolUsage) String() string {
	return fmt.Sprintf("pool %s: %d of %d in use, %d free", u.Pool, u.Used, u.Size, u.Free)
}

// nearlyFull returns the pools a report must show: in use at NearlyFull
// of their size or more.
func (e *Engine) nearlyFull(ctx context.Context) ([]PoolUsage, error) {
	if e.opts.Pools == nil {
		return nil, nil
	}
	all, err := e.opts.Pools(ctx)
	if err != nil {
		return nil, err
	}
	var out []PoolUsage
	for _, u := range all {
		if u.Size > 0 && float64(u.Used) >= NearlyFull*float64(u.Size) {
			out = append(out, u)
		}
	}
	return out, nil
}

// Summary counts open drift by kind, type and source.
type Summary struct {
	Open     int            `json:"open"`
	New      int            `json:"new"`
	Resolved int            `json:"resolved"`
	ByKind   map[string]int `json:"by_kind"`
	ByType   map[string]int `json:"by_type"`
	BySource map[string]int `json:"by_source"`
}

func (s Summary) String() string {
	return fmt.Sprintf("%d open drift items (%d new), %d resolved", s.Open, s.New, s.Resolved)
}

// Formats are the report formats Render writes.
var Formats = []string{"md", "json", "html"}

// Report builds a report of the open drift and what changed since since.
func (e *Engine) Report(ctx context.Context, since time.Time) (*Report, error) {
	open, err := e.Drift(ctx, Filter{})
	if err != nil {
		return nil, err
	}
	resolved, err := e.Drift(ctx, Filter{Resolved: true, Since: since})
	if err != nil {
		return nil, err
	}
	runs, err := e.store.Runs(ctx, inventory.RunFilter{Since: since, Limit: 200})
	if err != nil {
		return nil, err
	}
	resolved = lastResolutions(open, resolved)
	sortItems(open)
	sortItems(resolved)
	pools, err := e.nearlyFull(ctx)
	if err != nil {
		return nil, err
	}
	r := &Report{CreatedAt: e.now().UTC(), Since: since.UTC(), Open: open, Resolved: resolved, Runs: runs, Pools: pools}
	r.count()
	return r, nil
}

// count works out the summary from the items.
func (r *Report) count() {
	r.Summary = Summary{Open: len(r.Open), Resolved: len(r.Resolved), ByKind: map[string]int{}, ByType: map[string]int{}, BySource: map[string]int{}}
	for _, it := range r.Open {
		if !it.FirstSeen.Before(r.Since) {
			r.Summary.New++
		}
		r.Summary.ByKind[string(it.Kind)]++
		r.Summary.ByType[it.Type]++
		r.Summary.BySource[it.Scope]++
	}
}

// Only returns a copy of the report with the items and pools its reader
// may see, counted again: a report says nothing of what it leaves out.
func (r *Report) Only(keep func(*Item) bool, keepPool func(string) bool) *Report {
	c := *r
	c.Open, c.Resolved, c.Pools = filterItems(r.Open, keep), filterItems(r.Resolved, keep), nil
	for _, p := range r.Pools {
		if keepPool(p.Pool) {
			c.Pools = append(c.Pools, p)
		}
	}
	if r.Digest != nil {
		c.Digest = r.Digest.only(keep)
	}
	c.count()
	return &c
}

// lastResolutions keeps one resolution per drift (its latest), and none
// for drift that is open again: the report's "Resolved" is what was fixed
// in the window and stays fixed.
func lastResolutions(open, resolved []Item) []Item {
	isOpen := make(map[string]bool, len(open))
	for i := range open {
		isOpen[open[i].Key()] = true
	}
	last := map[string]int{}
	var out []Item
	for _, it := range resolved {
		k := it.Key()
		if isOpen[k] {
			continue
		}
		if j, ok := last[k]; ok {
			if it.ResolvedAt.After(*out[j].ResolvedAt) {
				out[j] = it
			}
			continue
		}
		last[k] = len(out)
		out = append(out, it)
	}
	return out
}

// resolution says when and how an item was resolved.
func resolution(it *Item) string {
	if it.ResolvedAt == nil {
		return ""
	}
	s := "resolved " + it.ResolvedAt.Format(time.RFC3339)
	if it.ResolvedBy != "" {
		s += " by " + it.ResolvedBy
	}
	return s
}

// SaveReport stores a report (as JSON, the other formats render from it).
func (e *Engine) SaveReport(ctx context.Context, r *Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	rec := &inventory.ReportRecord{ID: r.ID, Schedule: r.Schedule, Summary: r.Summary.String(), Data: string(b), CreatedAt: r.CreatedAt}
	if err := e.store.SaveReport(ctx, rec); err != nil {
		return err
	}
	r.ID = rec.ID
	return nil
}

// Reports lists stored reports, newest first.
func (e *Engine) Reports(ctx context.Context, limit int) ([]inventory.ReportRecord, error) {
	return e.store.Reports(ctx, limit)
}

// StoredReport returns a stored report.
func (e *Engine) StoredReport(ctx context.Context, id string) (*Report, error) {
	rec, err := e.store.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal([]byte(rec.Data), &r); err != nil {
		return nil, fmt.Errorf("decode report %s: %w", id, err)
	}
	r.ID = rec.ID
	return &r, nil
}

// Render writes the report as md, json or html.
func Render(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "md", "markdown", "":
		return renderMarkdown(w, r)
	case "html":
		return htmlReport.Execute(w, r)
	}
	return schema.FieldErrorf(schema.EINVALID, "format", "unknown report format %q (want md, json or html)", format)
}

func renderMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# tana drift report\n\n%s — %s since %s\n\n", r.CreatedAt.Format(time.RFC3339), r.Summary, r.Since.Format(time.RFC3339))
	for _, c := range []struct {
		title  string
		counts map[string]int
	}{{"kind", r.Summary.ByKind}, {"type", r.Summary.ByType}, {"source", r.Summary.BySource}} {
		if len(c.counts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | open |\n|---|---:|\n", c.title)
		for _, k := range sortedKeys(c.counts) {
			fmt.Fprintf(&b, "| %s | %d |\n", k, c.counts[k])
		}
		b.WriteString("\n")
	}
	if len(r.Pools) > 0 {
		b.WriteString("## Pools nearly full\n\n")
		for _, u := range r.Pools {
			fmt.Fprintf(&b, "- %s\n", mdEscape(u.String()))
		}
		b.WriteString("\n")
	}
	if r.Digest != nil {
		digestMarkdown(&b, r.Digest)
	}
	b.WriteString("## Open\n\n")
	if len(r.Open) == 0 {
		b.WriteString("No drift.\n")
	}
	for i := range r.Open {
		it := &r.Open[i]
		fmt.Fprintf(&b, "- %s — since %s\n", mdEscape(it.String()), it.FirstSeen.Format(time.RFC3339))
	}
	if len(r.Resolved) > 0 {
		b.WriteString("\n## Resolved\n\n")
		for i := range r.Resolved {
			it := &r.Resolved[i]
			fmt.Fprintf(&b, "- %s — %s\n", mdEscape(it.String()), mdEscape(resolution(it)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// digestMarkdown writes what changed since the last report posted.
func digestMarkdown(b *strings.Builder, d *Digest) {
	b.WriteString("## Since the last report posted\n\n")
	if d.Previous == "" {
		b.WriteString("The first report posted.\n\n")
	} else if d.PreviousAt != nil {
		fmt.Fprintf(b, "Report %s, posted %s.\n\n", d.Previous, d.PreviousAt.Format(time.RFC3339))
	}
	for _, l := range []struct {
		title string
		items []Item
	}{{"New", d.New}, {"Changed", d.Changed}, {"Resolved", d.Resolved}} {
		if len(l.items) == 0 {
			continue
		}
		fmt.Fprintf(b, "### %s (%d)\n\n", l.title, len(l.items))
		for i := range l.items {
			it := &l.items[i]
			line := it.String()
			if res := resolution(it); res != "" {
				line += " — " + res
			}
			fmt.Fprintf(b, "- %s\n", mdEscape(line))
		}
		b.WriteString("\n")
	}
	if d.Empty() {
		b.WriteString("No change.\n\n")
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;").Replace(s)
}

var htmlReport = template.Must(template.New("report").Funcs(template.FuncMap{
	"keys":       func(m map[string]int) []string { return sortedKeys(m) },
	"time":       func(t time.Time) string { return t.Format(time.RFC3339) },
	"item":       func(it Item) string { return it.String() },
	"resolution": func(it Item) string { return resolution(&it) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>tana drift report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}</style>
</head><body>
<h1>tana drift report</h1>
<p>{{time .CreatedAt}} — {{.Summary}} since {{time .Since}}</p>
<table><tr><th>kind</th><th>open</th></tr>{{range $k := keys .Summary.ByKind}}<tr><td>{{$k}}</td><td>{{index $.Summary.ByKind $k}}</td></tr>{{end}}</table>
<table><tr><th>type</th><th>open</th></tr>{{range $k := keys .Summary.ByType}}<tr><td>{{$k}}</td><td>{{index $.Summary.ByType $k}}</td></tr>{{end}}</table>
<table><tr><th>source</th><th>open</th></tr>{{range $k := keys .Summary.BySource}}<tr><td>{{$k}}</td><td>{{index $.Summary.BySource $k}}</td></tr>{{end}}</table>
{{if .Pools}}<h2>Pools nearly full</h2><ul>{{range .Pools}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Digest}}<h2>Since the last report posted</h2>
{{if .Previous}}<p>Report {{.Previous}}{{with .PreviousAt}}, posted {{time .}}{{end}}.</p>{{else}}<p>The first report posted.</p>{{end}}
{{if .New}}<h3>New ({{len .New}})</h3><ul>{{range .New}}<li>{{item .}}</li>{{end}}</ul>{{end}}
{{if .Changed}}<h3>Changed ({{len .Changed}})</h3><ul>{{range .Changed}}<li>{{item .}}</li>{{end}}</ul>{{end}}
{{if .Resolved}}<h3>Resolved ({{len .Resolved}})</h3><ul>{{range .Resolved}}<li>{{item .}} — {{resolution .}}</li>{{end}}</ul>{{end}}
{{end}}<h2>Open</h2>
<ul>{{range .Open}}<li>{{item .}} — since {{time .FirstSeen}}</li>{{else}}<li>No drift.</li>{{end}}</ul>
{{if .Resolved}}<h2>Resolved</h2><ul>{{range .Resolved}}<li>{{item .}} — {{resolution .}}</li>{{end}}</ul>{{end}}
</body></html>
`))
