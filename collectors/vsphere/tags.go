package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// errNoTagging means the server has no vAPI endpoint (e.g. plain ESXi).
var errNoTagging = errors.New("tagging (vAPI) not available")

// tagManager returns a vAPI tag manager, logging in to REST on first use.
func (c *conn) tagManager(ctx context.Context) (*tags.Manager, error) {
	c.restMu.Lock()
	defer c.restMu.Unlock()
	if c.noREST {
		return nil, errNoTagging
	}
	if c.rest == nil {
		rc := rest.NewClient(c.vim)
		rc.Client.Timeout = c.tmo
		if c.wrap != nil {
			rc.Client.Transport = c.wrap(rc.Client.Transport)
		}
		if err := rc.Login(ctx, c.user); err != nil {
			if strings.Contains(err.Error(), http.StatusText(http.StatusNotFound)) {
				c.noREST = true
				return nil, errNoTagging
			}
			return nil, fmt.Errorf("vsphere %s: rest login: %w", c.name, err)
		}
		c.rest = rc
	}
	return tags.NewManager(c.rest), nil
}

// withTags runs f with a tag manager, logging in again once if the REST
// session expired.
func (c *conn) withTags(ctx context.Context, f func(*tags.Manager) error) error {
	m, err := c.tagManager(ctx)
	if err != nil {
		return err
	}
	err = f(m)
	if err == nil || !strings.Contains(err.Error(), http.StatusText(http.StatusUnauthorized)) {
		return err
	}
	c.restMu.Lock()
	c.rest = nil
	c.restMu.Unlock()
	if m, err = c.tagManager(ctx); err != nil {
		return err
	}
	return f(m)
}

// vmTags reads the tags of the given VMs as "category:name" strings, in a
// number of calls that depends on the number of tags and categories in use,
// not on the number of VMs.
func (c *conn) vmTags(ctx context.Context, vms []types.ManagedObjectReference) (map[types.ManagedObjectReference][]string, error) {
	out := make(map[types.ManagedObjectReference][]string)
	if len(vms) == 0 {
		return out, nil
	}
	refs := make([]mo.Reference, len(vms))
	for i := range vms {
		refs[i] = vms[i]
	}
	err := c.withTags(ctx, func(m *tags.Manager) error {
		attached, err := m.ListAttachedTagsOnObjects(ctx, refs)
		if err != nil {
			return fmt.Errorf("attached tags: %w", err)
		}
		names, err := tagNames(ctx, m, attached)
		if err != nil {
			return err
		}
		for _, a := range attached {
			ref := a.ObjectID.Reference()
			for _, id := range a.TagIDs {
				if n, ok := names[id]; ok {
					out[ref] = append(out[ref], n)
				}
			}
			slices.Sort(out[ref]) // a set; sorted for stable snapshots
		}
		return nil
	})
	return out, err
}

// tagNames resolves the tag IDs in use to "category:name".
func tagNames(ctx context.Context, m *tags.Manager, attached []tags.AttachedTags) (map[string]string, error) {
	names := make(map[string]string)
	cats := make(map[string]string)
	for _, a := range attached {
		for _, id := range a.TagIDs {
			if _, ok := names[id]; ok {
				continue
			}
			t, err := m.GetTag(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", id, err)
			}
			cat, ok := cats[t.CategoryID]
			if !ok {
				cg, err := m.GetCategory(ctx, t.CategoryID)
				if err != nil {
					return nil, fmt.Errorf("tag category %s: %w", t.CategoryID, err)
				}
				cat = cg.Name
				cats[t.CategoryID] = cat
			}
			names[id] = cat + ":" + t.Name
		}
	}
	return names, nil
}
