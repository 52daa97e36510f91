package restoresession

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/cairnbackup/cairn/pkg/apis/common"
	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// Reasons of the BackupsPaused condition.
const (
	ReasonBackupsPaused    = "BackupsPaused"
	ReasonWaitingForBackup = "WaitingForBackup"
	ReasonBackupsResumed   = "BackupsResumed"
)

// backupWaitRecheck bounds how long a restore waiting for a running backup
// sleeps between looks; a finishing BackupSession wakes it earlier.
const backupWaitRecheck = 30 * time.Second

// holdBackups holds the backups of the restore's target before any data
// moves: it records in st.pausedBackups every BackupConfiguration in the
// namespace whose target is target (the BackupSession controller then skips
// their sessions and `cairn trigger` creates none), and waits for a backup
// of one of them that already runs, so no backup reads a half-restored
// volume and no restore overwrites files a backup is reading. It reports
// whether the restore may create its Jobs now; when not, res says when to
// look again (the recorded pause must reach the API before the Jobs exist).
// spec.paused is never touched.
func (c *Controller) holdBackups(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus, target common.TypedObjectReference) (bool, time.Duration) {
	if meta.FindStatusCondition(st.Conditions, corev1alpha1.ConditionBackupsPaused) == nil {
		refs := c.configsOf(rs.Namespace, target)
		if len(refs) == 0 {
			return true, 0
		}
		st.PausedBackups = refs
		c.setCondition(rs, st, corev1alpha1.ConditionBackupsPaused, true, ReasonBackupsPaused,
			fmt.Sprintf("backups of %s are held while the restore runs", refNames(refs)))
		c.recorder.Eventf(rs, "Normal", ReasonBackupsPaused, "Holding the backups of %s until the restore finishes", refNames(refs))
		return false, time.Second
	}
	if running := c.runningBackup(rs.Namespace, st.PausedBackups); running != "" {
		c.setCondition(rs, st, corev1alpha1.ConditionBackupsPaused, true, ReasonWaitingForBackup,
			fmt.Sprintf("backups of %s are held; waiting for BackupSession %s, created before the pause, to finish or be skipped", refNames(st.PausedBackups), running))
		return false, backupWaitRecheck
	}
	c.setCondition(rs, st, corev1alpha1.ConditionBackupsPaused, true, ReasonBackupsPaused,
		fmt.Sprintf("backups of %s are held while the restore runs", refNames(st.PausedBackups)))
	return true, 0
}

// resumeBackups marks the held backups as running again once the restore
// is final: nothing else needs to change, since a restore holds backups only
// while it is unfinished (RestoreSession.HoldsBackupsOf).
func (c *Controller) resumeBackups(rs *corev1alpha1.RestoreSession, st *corev1alpha1.RestoreSessionStatus) {
	if !common.IsTrue(st.Conditions, corev1alpha1.ConditionBackupsPaused) {
		return
	}
	c.setCondition(rs, st, corev1alpha1.ConditionBackupsPaused, false, ReasonBackupsResumed,
		fmt.Sprintf("the restore finished; backups of %s run again", refNames(st.PausedBackups)))
	c.recorder.Eventf(rs, "Normal", ReasonBackupsResumed, "Backups of %s run again", refNames(st.PausedBackups))
}

// configsOf are the BackupConfigurations of namespace ns that back up
// target, sorted by name.
func (c *Controller) configsOf(ns string, target common.TypedObjectReference) []common.TypedObjectReference {
	all, _ := c.configs.BackupConfigurations(ns).List(labels.Everything())
	var refs []common.TypedObjectReference
	for _, bc := range all {
		t := bc.Spec.Target
		if t.Kind == target.Kind && t.Name == target.Name && (t.Namespace == "" || t.Namespace == ns) {
			refs = append(refs, common.TypedObjectReference{APIGroup: corev1alpha1.GroupName, Kind: "BackupConfiguration", Name: bc.Name, Namespace: ns})
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	return refs
}

// runningBackup names an unfinished BackupSession of one of the held
// configs, or "". One that has not started yet is waited for too: the
// BackupSession controller may have begun starting it before the pause
// reached the informer cache both controllers share, and otherwise it is
// Skipped (finished) as soon as it is synced. A session created after
// this look is synced with the pause already in that cache.
func (c *Controller) runningBackup(ns string, held []common.TypedObjectReference) string {
	sessions, _ := c.backups.BackupSessions(ns).List(labels.Everything())
	for _, bs := range sessions {
		if !bs.Status.Phase.IsFinished() && holds(held, bs.Spec.Invoker.Name) {
			return bs.Name
		}
	}
	return ""
}

func holds(held []common.TypedObjectReference, config string) bool {
	for _, ref := range held {
		if ref.Name == config {
			return true
		}
	}
	return false
}

func refNames(refs []common.TypedObjectReference) string {
	n := make([]string, len(refs))
	for i, r := range refs {
		n[i] = "BackupConfiguration " + r.Name
	}
	return strings.Join(n, ", ")
}
