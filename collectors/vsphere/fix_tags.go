package vsphere

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/vmware/govmomi/vapi/tags"
	"github.com/vmware/govmomi/vim25/types"
)

// fixTags attaches and detaches "category:name" tags so the VM carries
// exactly New, after checking it carries exactly Old.
func (c *conn) fixTags(ctx context.Context, vm types.ManagedObjectReference, fx collectors.Fix) error {
	old, err := fixList(fx.Old)
	if err != nil {
		return err
	}
	want, err := fixList(fx.New)
	if err != nil {
		return err
	}
	for _, t := range want {
		if _, _, ok := splitTag(t); !ok {
			return fmt.Errorf("tag %q is not of the form category:name", t)
		}
	}
	curMap, err := c.vmTags(ctx, []types.ManagedObjectReference{vm})
	if err != nil {
		return err
	}
	cur := slices.Sorted(slices.Values(curMap[vm]))
	if !slices.Equal(cur, old) {
		return fmt.Errorf("%w: is %q, plan expected %q", ErrStale, cur, old)
	}
	return c.withTags(ctx, func(m *tags.Manager) error {
		for _, t := range want {
			if !slices.Contains(cur, t) {
				id, err := ensureTag(ctx, m, t)
				if err != nil {
					return err
				}
				if err := m.AttachTag(ctx, id, vm); err != nil {
					return fmt.Errorf("attach tag %q: %w", t, err)
				}
			}
		}
		for _, t := range cur {
			if !slices.Contains(want, t) {
				if err := detach(ctx, m, t, vm); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func splitTag(t string) (cat, name string, ok bool) {
	cat, name, ok = strings.Cut(t, ":")
	return cat, name, ok && cat != "" && name != ""
}

// findTag returns the IDs of category and tag, "" where they do not exist.
func findTag(ctx context.Context, m *tags.Manager, t string) (catID, tagID string, err error) {
	cat, name, _ := splitTag(t)
	cats, err := m.GetCategories(ctx)
	if err != nil {
		return "", "", fmt.Errorf("tag categories: %w", err)
	}
	for _, cg := range cats {
		if cg.Name == cat {
			catID = cg.ID
		}
	}
	if catID == "" {
		return "", "", nil
	}
	ts, err := m.GetTagsForCategory(ctx, catID)
	if err != nil {
		return "", "", fmt.Errorf("tags of %q: %w", cat, err)
	}
	for _, tg := range ts {
		if tg.Name == name {
			return catID, tg.ID, nil
		}
	}
	return catID, "", nil
}

// ensureTag returns the tag's ID, creating category and tag if missing.
func ensureTag(ctx context.Context, m *tags.Manager, t string) (string, error) {
	catID, tagID, err := findTag(ctx, m, t)
	if err != nil || tagID != "" {
		return tagID, err
	}
	cat, name, _ := splitTag(t)
	if catID == "" {
		catID, err = m.CreateCategory(ctx, &tags.Category{Name: cat, Cardinality: "MULTIPLE", AssociableTypes: []string{"VirtualMachine"}})
		if err != nil {
			return "", fmt.Errorf("create tag category %q: %w", cat, err)
		}
	}
	tagID, err = m.CreateTag(ctx, &tags.Tag{Name: name, CategoryID: catID})
	if err != nil {
		return "", fmt.Errorf("create tag %q: %w", t, err)
	}
	return tagID, nil
}

func detach(ctx context.Context, m *tags.Manager, t string, vm types.ManagedObjectReference) error {
	_, id, err := findTag(ctx, m, t)
	if err != nil || id == "" {
		return err
	}
	if err := m.DetachTag(ctx, id, vm); err != nil {
		return fmt.Errorf("detach tag %q: %w", t, err)
	}
	return nil
}
