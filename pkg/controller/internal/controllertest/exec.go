package controllertest

import (
	"context"
	"strings"
	"sync"
)

// Exec is a fake hooks.Execer for controller tests: it records each
// command as "pod/container: command" and answers with Answer (nil: exit 0).
type Exec struct {
	mu  sync.Mutex
	ran []string
	// Answer, when set, decides the result of a command in pod.
	Answer func(pod string, command []string) error
}

// Exec records the command and answers it.
func (e *Exec) Exec(_ context.Context, _, pod, container string, command []string) error {
	e.mu.Lock()
	e.ran = append(e.ran, pod+"/"+container+": "+strings.Join(command, " "))
	answer := e.Answer
	e.mu.Unlock()
	if answer == nil {
		return nil
	}
	return answer(pod, command)
}

// Ran is what ran so far, in order.
func (e *Exec) Ran() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ran...)
}
