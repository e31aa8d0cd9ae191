package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Digest says how a report's open drift differs from that of the last
// report its schedule posted: a schedule with OnlyOnChange posts only
// when it differs, and the digest says how.
type Digest struct {
	// Previous is the last report posted; empty for the first digest.
	Previous   string     `json:"previous_report,omitempty"`
	PreviousAt *time.Time `json:"previous_sent_at,omitempty"`
	// Fingerprint is that of the report's open drift (see Fingerprint).
	Fingerprint string `json:"fingerprint"`
	New         []Item `json:"new"`      // open now, not then
	Changed     []Item `json:"changed"`  // open then and now, with other values (store, actual, fix)
	Resolved    []Item `json:"resolved"` // open then, not now
}

// Empty reports whether the digest lists nothing.
func (d *Digest) Empty() bool {
	return len(d.New) == 0 && len(d.Changed) == 0 && len(d.Resolved) == 0
}

// Fingerprint is a stable digest of a set of open drift: the sorted keys
// of its items with their pins, so the same drift with the same values
// gives the same fingerprint whatever the order, times or snapshots.
func Fingerprint(open []Item) string {
	lines := make([]string, len(open))
	for i := range open {
		lines[i] = open[i].Key() + "\x00" + open[i].Pin() + "\n"
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digest compares r's open drift with that of the last report schedule
// posted. It returns nil when they are the same: nothing to post.
func (e *Engine) digest(ctx context.Context, schedule string, r *Report) (*Digest, error) {
	d := &Digest{Fingerprint: Fingerprint(r.Open)}
	last, err := e.store.LastDigest(ctx, schedule)
	if schema.ErrorCode(err) == schema.ENOTFOUND {
		d.New = r.Open
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	if last.Fingerprint == d.Fingerprint {
		return nil, nil
	}
	d.Previous, d.PreviousAt = last.ReportID, &last.SentAt
	before, err := e.StoredReport(ctx, last.ReportID)
	if schema.ErrorCode(err) == schema.ENOTFOUND {
		// Without the "before" every open item is new; say why.
		e.log.Warn("digest: the last report posted is gone; all open drift counts as new", "schedule", schedule, "report", last.ReportID)
		d.New = r.Open
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	resolved, err := e.Drift(ctx, Filter{Resolved: true, Since: last.SentAt})
	if err != nil {
		return nil, err
	}
	d.compare(before.Open, r.Open, lastResolutions(r.Open, resolved))
	return d, nil
}

// compare fills the digest's lists from the open drift before and now.
// A resolved item is shown as its resolution says (when and how) if the
// store has it, else as it was.
func (d *Digest) compare(before, now, resolutions []Item) {
	was := make(map[string]*Item, len(before))
	for i := range before {
		was[before[i].Key()] = &before[i]
	}
	for i := range now {
		it := &now[i]
		switch old, ok := was[it.Key()]; {
		case !ok:
			d.New = append(d.New, *it)
		case old.Pin() != it.Pin():
			d.Changed = append(d.Changed, *it)
		}
		delete(was, it.Key())
	}
	how := make(map[string]*Item, len(resolutions))
	for i := range resolutions {
		how[resolutions[i].Key()] = &resolutions[i]
	}
	for i := range before {
		k := before[i].Key()
		if _, gone := was[k]; !gone {
			continue
		}
		if r, ok := how[k]; ok {
			d.Resolved = append(d.Resolved, *r)
		} else {
			d.Resolved = append(d.Resolved, before[i])
		}
	}
	sortItems(d.Resolved)
}

// only returns a copy of the digest with the items keep lets through.
func (d *Digest) only(keep func(*Item) bool) *Digest {
	c := *d
	c.New, c.Changed, c.Resolved = filterItems(d.New, keep), filterItems(d.Changed, keep), filterItems(d.Resolved, keep)
	if len(c.New)+len(c.Changed)+len(c.Resolved) != len(d.New)+len(d.Changed)+len(d.Resolved) {
		// The fingerprint covers what the reader may not see: it would
		// tell them that hidden drift moved.
		c.Fingerprint = ""
	}
	return &c
}

func filterItems(items []Item, keep func(*Item) bool) []Item {
	var out []Item
	for i := range items {
		if keep(&items[i]) {
			out = append(out, items[i])
		}
	}
	return out
}

// recordDigest remembers that r was posted, the "before" of the next
// digest.
func (e *Engine) recordDigest(ctx context.Context, schedule string, r *Report) error {
	return e.store.SaveDigest(ctx, &inventory.DigestRecord{Schedule: schedule, ReportID: r.ID, Fingerprint: r.Digest.Fingerprint})
}
