package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/inventorytest"
	"github.com/tana-cmdb/tana/schema"
)

// TestDigestRecordReplaced: a schedule that never posted has no digest
// (not found, not an empty one); each post replaces the one before, and
// schedules keep their own.
func TestDigestRecordReplaced(t *testing.T) {
	inventorytest.ForEach(t, func(t *testing.T, s *inventory.Store) {
		ctx := context.Background()
		if _, err := s.LastDigest(ctx, "nightly"); schema.ErrorCode(err) != schema.ENOTFOUND {
			t.Fatalf("no digest yet: %v", err)
		}
		at := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
		for i, d := range []inventory.DigestRecord{
			{Schedule: "nightly", ReportID: "r1", Fingerprint: "f1", SentAt: at},
			{Schedule: "hourly", ReportID: "r2", Fingerprint: "f2", SentAt: at},
			{Schedule: "nightly", ReportID: "r3", Fingerprint: "f3", SentAt: at.Add(time.Hour)},
		} {
			if err := s.SaveDigest(ctx, &d); err != nil {
				t.Fatalf("save %d: %v", i, err)
			}
		}
		for name, want := range map[string]inventory.DigestRecord{
			"nightly": {Schedule: "nightly", ReportID: "r3", Fingerprint: "f3", SentAt: at.Add(time.Hour)},
			"hourly":  {Schedule: "hourly", ReportID: "r2", Fingerprint: "f2", SentAt: at},
		} {
			got, err := s.LastDigest(ctx, name)
			if err != nil || *got != want {
				t.Errorf("LastDigest(%s) = %+v, %v; want %+v", name, got, err, want)
			}
		}
	})
}
