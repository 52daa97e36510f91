package fsutil

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Xattr is one extended attribute of a file.
type Xattr struct {
	Name  string
	Value []byte
}

// XattrError names an attribute that could not be read or written and why,
// so callers can count it and say which one it was.
type XattrError struct {
	Name string
	Err  error
}

// Error reports the attribute and the cause.
func (e *XattrError) Error() string { return e.Name + ": " + e.Err.Error() }

// Unwrap exposes the errno (unix.ENOTSUP, unix.EPERM, ...) to errors.Is.
func (e *XattrError) Unwrap() error { return e.Err }

// MaxXattrValue is the largest attribute value kept: Linux refuses larger
// ones (XATTR_SIZE_MAX), and the tree format's limit is the same.
const MaxXattrValue = 64 << 10

// KeptXattr reports whether a backup saves the attribute name: the user,
// security and trusted namespaces, and POSIX ACLs. Other system.* names are
// file-system internals (NFSv4 ACLs, inline data) that no other file system
// would accept on restore.
func KeptXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "security."), strings.HasPrefix(name, "trusted."):
		return true
	}
	return name == "system.posix_acl_access" || name == "system.posix_acl_default"
}

// ManagedXattr reports whether a restore may remove the attribute name from
// a file when the snapshot does not have it. Security labels other than file
// capabilities (security.selinux, security.apparmor, ...) are set by the
// running system's policy when a file is created and are left alone.
func ManagedXattr(name string) bool {
	if strings.HasPrefix(name, "security.") {
		return name == "security.capability"
	}
	return KeptXattr(name)
}

// NoXattrSupport reports whether err means the file system has no extended
// attributes at all (or not for this kind of file), as opposed to a refused
// name or value.
func NoXattrSupport(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
}

// ReadXattrs returns the attributes of path that KeptXattr selects, sorted
// by name, without following a symlink. Attributes that cannot be read
// (permission, a value over MaxXattrValue, a file system error) are left out
// and returned in skipped; a file system without xattr support, or a file
// that vanished, has none. err is set only when the list itself cannot be
// read for another reason, and then skipped is empty.
func ReadXattrs(path string) (attrs []Xattr, skipped []XattrError, err error) {
	names, err := listXattrs(path)
	if err != nil {
		if NoXattrSupport(err) || errors.Is(err, unix.ENOENT) {
			return nil, nil, nil
		}
		return nil, nil, &XattrError{Name: "(list)", Err: err}
	}
	for _, name := range names {
		if !KeptXattr(name) {
			continue
		}
		v, err := getXattr(path, name)
		switch {
		case errors.Is(err, unix.ENODATA):
			// Removed since the list was read: it is simply gone.
		case err != nil:
			skipped = append(skipped, XattrError{Name: name, Err: err})
		default:
			attrs = append(attrs, Xattr{Name: name, Value: v})
		}
	}
	slices.SortFunc(attrs, func(a, b Xattr) int { return strings.Compare(a.Name, b.Name) })
	return attrs, skipped, nil
}

// listXattrs returns the attribute names of path (llistxattr), retrying if
// the list grows between sizing and reading it. Most files have few or no
// attributes, so a first call with a small buffer usually answers in one
// system call instead of two.
func listXattrs(path string) ([]string, error) {
	var small [512]byte
	n, err := unix.Llistxattr(path, small[:])
	if err == nil {
		if n == 0 {
			return nil, nil
		}
		return splitNames(small[:n]), nil
	}
	if !errors.Is(err, unix.ERANGE) {
		return nil, err
	}
	for range 8 {
		size, err := unix.Llistxattr(path, nil)
		if err != nil {
			return nil, err
		}
		if size == 0 {
			return nil, nil
		}
		buf := make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return splitNames(buf[:n]), nil
	}
	return nil, unix.ERANGE
}

// splitNames splits the kernel's list of NUL-terminated names.
func splitNames(b []byte) []string {
	var names []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			i = len(b)
		}
		if i > 0 {
			names = append(names, string(b[:i]))
		}
		b = b[min(i+1, len(b)):]
	}
	return names
}

// getXattr reads one value (lgetxattr), retrying if it grows meanwhile.
func getXattr(path, name string) ([]byte, error) {
	for range 8 {
		size, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		if size > MaxXattrValue {
			return nil, fmt.Errorf("value is %d bytes, more than the %d bytes a snapshot keeps", size, MaxXattrValue)
		}
		buf := make([]byte, size)
		if size == 0 {
			return buf, nil
		}
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
	return nil, unix.ERANGE
}

// SyncXattrs makes path's attributes equal to want (without following a
// symlink): values that differ are set, and attributes the snapshot does not
// have are removed when ManagedXattr allows it. Attributes already right are
// not touched, so a rerun changes nothing (not even the ctime). It returns
// the number of attributes set or removed and one XattrError per attribute
// that could not be written; a file system without xattr support fails every
// wanted attribute with unix.ENOTSUP.
func SyncXattrs(path string, want []Xattr) (changed int, failed []XattrError) {
	current, err := listXattrs(path)
	if err != nil && !NoXattrSupport(err) {
		return 0, []XattrError{{Name: "(list)", Err: err}}
	}
	wanted := make(map[string]bool, len(want))
	for _, x := range want {
		wanted[x.Name] = true
		if slices.Contains(current, x.Name) {
			if v, err := getXattr(path, x.Name); err == nil && bytes.Equal(v, x.Value) {
				continue
			}
		}
		if err := unix.Lsetxattr(path, x.Name, x.Value, 0); err != nil {
			failed = append(failed, XattrError{Name: x.Name, Err: err})
			continue
		}
		changed++
	}
	for _, name := range current {
		if wanted[name] || !ManagedXattr(name) {
			continue
		}
		if err := unix.Lremovexattr(path, name); err != nil && !errors.Is(err, unix.ENODATA) {
			failed = append(failed, XattrError{Name: name, Err: fmt.Errorf("cannot remove it: %w", err)})
			continue
		}
		changed++
	}
	return changed, failed
}
