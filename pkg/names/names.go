// Package names builds the names of the objects Cairn creates (CronJobs,
// Jobs, Snapshots, ServiceAccounts...). The names are deterministic so that a
// restarted controller finds what it created before ("the name is the lock"),
// and they always fit Kubernetes' limits: a name that would be too long keeps
// a readable prefix and ends in a short hash of the whole, so two different
// long inputs never collide on the same name.
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

const (
	// MaxLabelLength is the limit for names that are also label values or
	// DNS labels (Jobs' pods, Services, CronJobs' generated Jobs).
	MaxLabelLength = 63
	// CronJobMaxLength leaves room for the 11-character suffix that the
	// CronJob controller appends to the Jobs it creates.
	CronJobMaxLength = 52
	// hashLength is how many hex digits of the hash a shortened name keeps.
	hashLength = 8
)

// Join joins parts with "-" and shortens the result to max characters.
// Empty parts are skipped.
func Join(max int, parts ...string) string {
	kept := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return Shorten(strings.Join(kept, "-"), max)
}

// Shorten returns name unchanged when it fits in max characters. Otherwise it
// returns a prefix of name, a "-", and the first 8 hex digits of the SHA-256
// of the full name, max characters in all, with no trailing "-" or "." before
// the hash so the result stays a valid DNS label.
func Shorten(name string, max int) string {
	if len(name) <= max {
		return name
	}
	if max < hashLength+2 {
		max = hashLength + 2
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:hashLength]
	prefix := strings.TrimRight(name[:max-hashLength-1], "-.")
	return prefix + "-" + suffix
}

// TriggerCronJob is the CronJob that creates BackupSessions for one session
// of a BackupConfiguration.
func TriggerCronJob(backupConfiguration, session string) string {
	return Join(CronJobMaxLength, "trigger", backupConfiguration, session)
}

// BackupJob is the data mover Job of one repository of a BackupSession; with
// a component (a pod or volume), the Job of that component.
func BackupJob(backupSession, repository, component string) string {
	return Join(MaxLabelLength, "backup", backupSession, repository, component)
}

// RestoreJob is the data mover Job of one component of a RestoreSession.
func RestoreJob(restoreSession, component string) string {
	return Join(MaxLabelLength, "restore", restoreSession, component)
}

// Snapshot is the Snapshot object of one repository written by a session.
// Snapshots are named after the repository and the session's timestamp so
// that they sort by time in `kubectl get snapshots`.
func Snapshot(repository, session string, unixSeconds int64) string {
	return Join(253, repository, session, strconv.FormatInt(unixSeconds, 10))
}

// ServiceAccount is the per-namespace account Cairn's Jobs run as.
func ServiceAccount(purpose string) string {
	return Join(MaxLabelLength, "cairn", purpose)
}

// VolumeSnapshot is the CSI VolumeSnapshot of one PVC, following KubeStash's
// "<pvc>-<backup session creation time in Unix seconds>".
func VolumeSnapshot(pvc string, unixSeconds int64) string {
	return Join(253, pvc, strconv.FormatInt(unixSeconds, 10))
}

// BackupSession is the name of a BackupSession of a config's session made
// at unixSeconds: "<config>-<session>-<unix seconds>", shortened with a hash
// to fit a label value. attempt > 1 appends "-<attempt>", for a second
// session created in the same second (a manual trigger beside the CronJob).
func BackupSession(config, session string, unixSeconds int64, attempt int) string {
	base := Join(MaxLabelLength-3, config, session, strconv.FormatInt(unixSeconds, 10))
	if attempt <= 1 {
		return base
	}
	return Join(MaxLabelLength, base, strconv.Itoa(attempt))
}
