package common

// Condition types and reasons that more than one Cairn kind reports. Each
// kind adds its own in its package; these are the ones a user sees
// everywhere, so they are spelled once.
const (
	// ConditionReady is True when the object is usable: its references resolve
	// and its backend is reachable.
	ConditionReady = "Ready"
	// ConditionValid is False when the spec cannot work as written; its message
	// says what to change.
	ConditionValid = "Valid"

	// ReasonReferenceNotFound means a referenced object does not exist.
	ReasonReferenceNotFound = "ReferenceNotFound"
	// ReasonNotAllowed means a usage policy forbids the reference.
	ReasonNotAllowed = "NotAllowed"
	// ReasonInvalidSpec means the spec is self-contradictory.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonReady means everything the object needs is in place.
	ReasonReady = "Ready"
)
