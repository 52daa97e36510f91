package convert

import (
	"fmt"
	"strings"
)

// DecodeError says that a file (or one document in it) is not YAML or JSON
// that describes Kubernetes objects. Decoding untrusted bytes never panics:
// every problem ends here.
type DecodeError struct {
	// Source is the file name ("-" for stdin), with the line when known.
	Source string
	// Msg says what is wrong.
	Msg string
}

func (e *DecodeError) Error() string { return e.Source + ": " + e.Msg }

// RefusedError says that an object cannot be converted, why, and what a
// user can do instead. It is an error of the object, not of the run: the
// other objects are still converted.
type RefusedError struct {
	// Source is the file and line of the object.
	Source string
	// Object is "Kind namespace/name" as KubeStash wrote it.
	Object string
	// Reason says why Cairn cannot carry the object.
	Reason string
	// Instead says what to do instead.
	Instead string
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: not converted: %s", e.Source, e.Object, e.Reason)
	if e.Instead != "" {
		b.WriteString("; instead: " + e.Instead)
	}
	return b.String()
}

// IncompleteError is what Run returns when some input could not be read or
// some objects were refused: the output holds only what converted.
type IncompleteError struct {
	// Unreadable counts inputs (files or documents) that could not be decoded.
	Unreadable int
	// Refused counts objects that were refused.
	Refused int
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("conversion incomplete: %d input(s) unreadable, %d object(s) refused (see the messages above)", e.Unreadable, e.Refused)
}

// Warning names a KubeStash field that Cairn cannot carry (or carries with
// a change a user must know about).
type Warning struct {
	// Source is the file and line of the field.
	Source string
	// Object is "Kind namespace/name".
	Object string
	// Field is the KubeStash field path, for example
	// spec.sessions[0].scheduler.jobTemplate.template.spec.nodeName.
	Field string
	// Msg says what happened to it.
	Msg string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", w.Source, w.Object, w.Field, w.Msg)
}
