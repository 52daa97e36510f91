package restorer

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cairnbackup/cairn/pkg/repo/tree"
)

// ownership is what a restore can do about file owners, decided once from
// the process's effective capabilities rather than from its user ID: a
// restore Job that restores other owners runs as root with only CHOWN and
// FOWNER (the Kubernetes runtime gives a non-root container no effective
// capabilities), and root without CHOWN cannot set owners at all.
type ownership struct {
	// chown: CAP_CHOWN, so any owner can be set.
	chown bool
	// take: CAP_CHOWN without CAP_DAC_OVERRIDE. Such a process may write
	// only into what it owns, so an existing directory or file of another
	// user that the restore must write into is first made its own; its
	// owner and mode are set back with the rest of its metadata.
	take bool
	uid  int
	// groups are the process's groups: without CAP_CHOWN a file it owns
	// can still be given one of them.
	groups map[int]bool
}

// Capability numbers (linux/capability.h).
const (
	capChown       = 0
	capDACOverride = 1
)

func currentOwnership() ownership {
	o := ownership{uid: os.Geteuid(), groups: map[int]bool{os.Getegid(): true}}
	if gs, err := os.Getgroups(); err == nil {
		for _, g := range gs {
			o.groups[g] = true
		}
	}
	eff, err := effectiveCaps()
	if err != nil {
		// No capability interface: only root may chown.
		o.chown = o.uid == 0
		return o
	}
	o.chown = eff&(1<<capChown) != 0
	o.take = o.chown && eff&(1<<capDACOverride) == 0
	return o
}

// effectiveCaps is the calling thread's effective capability set (every
// thread of the process has the same: none changes its own).
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

// setOwner gives path n's owner as far as the process may: any owner with
// CAP_CHOWN; otherwise only the group, of a file of its own user, to one
// of its groups (as chgrp allows). Anything else is left as created.
func (o ownership) setOwner(path string, n tree.Node) error {
	switch {
	case o.chown:
		return os.Lchown(path, int(n.UID), int(n.GID))
	case int(n.UID) == o.uid && o.groups[int(n.GID)]:
		return os.Lchown(path, -1, int(n.GID))
	}
	return nil
}

// takeOver makes an existing entry at path writable by the process when it
// may write only into what it owns (ownership.take): it becomes the
// process's, with owner write and search permission. Nothing is done when
// the entry is already the process's own and writable, or when the
// process has CAP_DAC_OVERRIDE or no CAP_CHOWN. Failures are left to the
// write that follows, which reports them.
func (o ownership) takeOver(path string, fi os.FileInfo) {
	if !o.take {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	need := uint32(0o600)
	if fi.IsDir() {
		need = 0o700
	}
	if int(st.Uid) == o.uid && st.Mode&need == need {
		return
	}
	if os.Lchown(path, o.uid, -1) == nil {
		_ = os.Chmod(path, fi.Mode().Perm()|os.FileMode(need))
	}
}

// removeAll removes path with everything below it, taking over (see
// takeOver) the directories of other users on the way when the process
// may write only into what it owns.
func (o ownership) removeAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !o.take {
		return err
	}
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if fi, err := d.Info(); err == nil {
				o.takeOver(p, fi)
			}
		}
		return nil
	})
	return os.RemoveAll(path)
}
