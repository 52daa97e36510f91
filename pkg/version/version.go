// Package version holds the version and commit a binary was built from, so
// that `cairn version`, the operator's start-up log and bug reports can name
// exactly what ran. The Makefile sets both with -ldflags (see hack/mk/build.mk);
// a plain `go build` falls back to what the Go toolchain recorded.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release (a git tag such as v0.3.0, or `git describe` output
// between tags). Set with -ldflags "-X github.com/cairnbackup/cairn/pkg/version.Version=...".
var Version = ""

// Commit is the full git commit hash the binary was built from, with a
// "-dirty" suffix when the work tree had uncommitted changes. Set with
// -ldflags like Version.
var Commit = ""

// Info is what a binary reports about its build.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build information: the -ldflags values when set, else the
// module version and VCS revision the Go toolchain embedded, else "unknown".
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			info.Commit = vcsRevision(bi.Settings)
		}
	}
	if info.Version == "" {
		info.Version = "unknown"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

func vcsRevision(settings []debug.BuildSetting) string {
	var rev string
	var dirty bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// String formats the information on one line, as `<name> version` prints it.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}
