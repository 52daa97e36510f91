package backupconfiguration

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// report collects the outcome of one sync as conditions: each check adds a
// failure (with a reason and a message saying what to fix) or a success to
// its condition type. The phase follows: Invalid when the config's own spec
// is wrong, NotReady when something it refers to is missing or not ready.
type report struct {
	order    []string
	conds    map[string]*metav1.Condition
	messages map[string][]string
	invalid  bool
}

func newReport() *report {
	return &report{conds: map[string]*metav1.Condition{}, messages: map[string][]string{}}
}

func (r *report) get(t string) *metav1.Condition {
	c, ok := r.conds[t]
	if !ok {
		c = &metav1.Condition{Type: t}
		r.conds[t] = c
		r.order = append(r.order, t)
	}
	return c
}

// fail records a problem under condition type t; invalid marks a problem of
// the config's own spec. The first reason of a type is kept; the messages
// of all are joined.
func (r *report) fail(t, reason, message string, invalid bool) {
	c := r.get(t)
	if c.Status != metav1.ConditionFalse {
		c.Status, c.Reason = metav1.ConditionFalse, reason
	}
	r.messages[t] = append(r.messages[t], message)
	r.invalid = r.invalid || invalid
}

// ok records success of condition type t unless a problem was recorded.
func (r *report) ok(t, reason, message string) {
	c := r.get(t)
	if c.Status == metav1.ConditionFalse {
		return
	}
	c.Status, c.Reason = metav1.ConditionTrue, reason
	r.messages[t] = []string{message}
}

func (r *report) failed(t string) bool {
	c, ok := r.conds[t]
	return ok && c.Status == metav1.ConditionFalse
}

func (r *report) anyFailed() bool {
	for _, t := range r.order {
		if r.failed(t) {
			return true
		}
	}
	return false
}

func (r *report) phase() corev1alpha1.BackupConfigurationPhase {
	switch {
	case r.invalid:
		return corev1alpha1.BackupConfigurationInvalid
	case r.anyFailed():
		return corev1alpha1.BackupConfigurationNotReady
	default:
		return corev1alpha1.BackupConfigurationReady
	}
}

// conditions returns the recorded conditions with generation set.
func (r *report) conditions(generation int64) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(r.order))
	for _, t := range r.order {
		c := *r.conds[t]
		c.Message = strings.Join(r.messages[t], "; ")
		c.ObservedGeneration = generation
		out = append(out, c)
	}
	return out
}
