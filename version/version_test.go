package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}}}
	var info Info
	fromBuildInfo(&info, bi)
	if info.Version != "v1.4.0" || info.Commit != "abc123-dirty" || info.BuildDate != "2026-12-01T10:00:00Z" {
		t.Errorf("from build info: %+v", info)
	}
	linked := Info{Version: "v2.0.0", Commit: "def", BuildDate: "2026-12-04T00:00:00Z"}
	fromBuildInfo(&linked, bi)
	if linked.Version != "v2.0.0" || linked.Commit != "def" || linked.BuildDate != "2026-12-04T00:00:00Z" {
		t.Errorf("build info overrode the linked values: %+v", linked)
	}
	devel := Info{}
	fromBuildInfo(&devel, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	if devel.Version != "" {
		t.Errorf("(devel) taken as a version: %+v", devel)
	}
}

func TestGet(t *testing.T) {
	info := Get()
	if info.GoVersion != runtime.Version() || info.Version == "" || info.Commit == "" || info.BuildDate == "" {
		t.Errorf("Get() = %+v: every field set", info)
	}
	if s := info.String(); !strings.HasPrefix(s, "tana ") || !strings.Contains(s, runtime.Version()) {
		t.Errorf("String() = %q", s)
	}
}
