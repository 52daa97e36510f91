// Package subst fills ${VAR} and ${VAR:=default} placeholders in Function
// commands and arguments, and in HookTemplate actions, with the values a
// session provides. It is strict on purpose: a placeholder without a value
// and without a default is an error that names the variable, so a typo in an
// Addon surfaces as a clear condition instead of an empty argument passed to
// a backup container.
package subst

import (
	"fmt"
	"strings"
)

// MissingError reports a placeholder that has neither a value nor a default.
type MissingError struct {
	// Name of the variable.
	Name string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("variable %q has no value and no default: set it in the task's params or give it a default as ${%s:=value}", e.Name, e.Name)
}

// SyntaxError reports a malformed placeholder.
type SyntaxError struct {
	// Input is the string being expanded.
	Input string
	// Offset is the byte offset of the placeholder.
	Offset int
	// Reason says what is wrong.
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bad placeholder at offset %d in %q: %s", e.Offset, e.Input, e.Reason)
}

// Expand replaces every placeholder in s:
//   - ${NAME} becomes vars[NAME]; an unset name is a *MissingError.
//   - ${NAME:=default} becomes vars[NAME], or default when NAME is unset or
//     empty (as in a POSIX shell).
//   - $$ becomes a single $, so "$${NAME}" yields the literal "${NAME}".
//
// A $ followed by anything else is kept as it is.
func Expand(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", &SyntaxError{Input: s, Offset: i, Reason: "missing closing '}'"}
			}
			body := s[i+2 : i+2+end]
			val, err := resolve(body, vars)
			if err != nil {
				if se, ok := err.(*SyntaxError); ok {
					se.Input, se.Offset = s, i
				}
				return "", err
			}
			b.WriteString(val)
			i += 2 + end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// ExpandAll expands every string of in and returns a new slice. The error
// names the position of the first string that failed.
func ExpandAll(in []string, vars map[string]string) ([]string, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		v, err := Expand(s, vars)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func resolve(body string, vars map[string]string) (string, error) {
	name, def, hasDefault := strings.Cut(body, ":=")
	if !validName(name) {
		return "", &SyntaxError{Reason: fmt.Sprintf("%q is not a variable name (letters, digits and '_', not starting with a digit)", name)}
	}
	v, ok := vars[name]
	if hasDefault {
		if !ok || v == "" {
			return def, nil
		}
		return v, nil
	}
	if !ok {
		return "", &MissingError{Name: name}
	}
	return v, nil
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
