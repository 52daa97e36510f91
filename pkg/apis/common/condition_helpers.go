package common

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IsTrue reports whether the condition of that type is present and True.
func IsTrue(conds []metav1.Condition, condType string) bool {
	return meta.IsStatusConditionTrue(conds, condType)
}

// IsFalse reports whether the condition of that type is present and False.
// An absent condition is neither true nor false: it has not been evaluated.
func IsFalse(conds []metav1.Condition, condType string) bool {
	c := meta.FindStatusCondition(conds, condType)
	return c != nil && c.Status == metav1.ConditionFalse
}

// AllTrue reports whether every listed condition is present and True, the
// usual test for a Ready phase.
func AllTrue(conds []metav1.Condition, condTypes ...string) bool {
	for _, t := range condTypes {
		if !IsTrue(conds, t) {
			return false
		}
	}
	return true
}

// SetCondition sets the condition condType on conds, True when ok, for the
// object's generation at now (the transition time moves only when the
// status does): what every session controller writes after a step.
func SetCondition(conds *[]metav1.Condition, condType string, ok bool, reason, msg string, generation int64, now time.Time) {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: condType, Status: s, Reason: reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now)})
}
