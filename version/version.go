// Package version says which tana this is: the version, commit and build
// date the Makefile's build target links in (-ldflags -X), falling back
// to what the Go toolchain recorded in the binary (go install, go build).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker: go build -ldflags "-X github.com/tana-cmdb/tana/version.version=v1.2.3 …".
// They are written once, at link time, and only read.
var (
	version   string
	commit    string
	buildDate string
)

// Info is a build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go"`
	BuildDate string `json:"built"`
}

// Get returns this binary's identity: the linked-in values, else the
// module version and VCS stamp from the build info, else "devel" and
// "unknown".
func Get() Info {
	info := Info{Version: version, Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fromBuildInfo(&info, bi)
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.BuildDate == "" {
		info.BuildDate = "unknown"
	}
	return info
}

// fromBuildInfo fills what the linker left empty from the Go build info.
func fromBuildInfo(info *Info, bi *debug.BuildInfo) {
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if info.Commit == "" && settings["vcs.revision"] != "" {
		info.Commit = settings["vcs.revision"]
		if settings["vcs.modified"] == "true" {
			info.Commit += "-dirty"
		}
	}
	if info.BuildDate == "" {
		info.BuildDate = settings["vcs.time"] // the commit's time: the best a plain go build knows
	}
}

// String is the one line tana version prints.
func (i Info) String() string {
	return fmt.Sprintf("tana %s (commit %s, %s, built %s)", i.Version, i.Commit, i.GoVersion, i.BuildDate)
}
