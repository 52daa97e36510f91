package runner

import (
	"errors"
	"time"

	"k8s.io/client-go/kubernetes"

	cairnclient "github.com/cairnbackup/cairn/client/clientset/versioned"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// DefaultProgressInterval is how often a running component's progress is
// patched: often enough for `kubectl get` to move, rare enough that a
// hundred sessions at once stay a small load on the API server.
const DefaultProgressInterval = 5 * time.Second

// finalPatchTimeout bounds the last status patch, which is sent even after
// the context ended (SIGTERM): the kubelet's grace period is 30 s by default.
const finalPatchTimeout = 10 * time.Second

// DriverCairn is the Component.Driver of a data-mover backup.
const DriverCairn = "Cairn"

// Password keys of an encryption Secret, in the order they are looked up.
// RESTIC_PASSWORD is read so a KubeStash user's Secret works unchanged.
var PasswordKeys = []string{"CAIRN_PASSWORD", "RESTIC_PASSWORD"}

// Runner runs one component's backup or restore. The zero values of the
// tuning fields pick the defaults.
type Runner struct {
	// Cairn reads sessions, Snapshots, Repositories and BackupStorages and
	// patches the status of Snapshots and RestoreSessions.
	Cairn cairnclient.Interface
	// Kube reads the credentials and encryption Secrets.
	Kube kubernetes.Interface
	// Engine tunes the engine repository handle (cairn's own tests lower
	// the password hashing cost; nothing a user sets reaches it).
	Engine repo.Options
	// ProgressInterval is the time between progress patches;
	// DefaultProgressInterval when zero.
	ProgressInterval time.Duration
	// Retry is how the store's transient errors are retried; zero means
	// backend.DefaultRetry (about 25 s before a store that does not answer
	// fails the component).
	Retry backend.RetryPolicy
	// StallTimeout is how long a backup or restore may move no data
	// before it fails (a store that stopped answering);
	// DefaultStallTimeout when zero.
	StallTimeout time.Duration
}

func (r *Runner) progressInterval() time.Duration {
	if r.ProgressInterval > 0 {
		return r.ProgressInterval
	}
	return DefaultProgressInterval
}

// ErrPartial means the work finished but some files were skipped (they
// are named in the component's error); `cairn repo` exits 3 for it too.
var ErrPartial = errors.New("some files were skipped")

// Error is a component's failure as its status shows it: Message says what
// is wrong and what to change, and never holds a secret. Err is the cause,
// so callers can still test it with errors.Is (exit codes do).
type Error struct {
	// Message is the component's status error.
	Message string
	// Err is the cause, nil when the runner found the problem itself.
	Err error
}

// Error returns the message written to the status.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
