package hooks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// PodExec execs commands in pods through the API server's pods/exec
// subresource, as kubectl exec does: WebSocket first, SPDY when the
// server or a proxy in between cannot upgrade to it.
type PodExec struct {
	kube   kubernetes.Interface
	config *rest.Config
}

// NewPodExec makes a PodExec; config is the operator's API connection.
func NewPodExec(kube kubernetes.Interface, config *rest.Config) *PodExec {
	return &PodExec{kube: kube, config: config}
}

// Exec runs command in container of pod until it exits or ctx ends. A
// non-zero exit is an *ExitError with the tail of the output; the output
// of a command that succeeded is discarded.
func (e *PodExec) Exec(ctx context.Context, namespace, pod, container string, command []string) error {
	req := e.kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.config, "GET", req.URL().String())
	if err != nil {
		return fmt.Errorf("preparing exec in pod %s: %w", pod, err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("preparing exec in pod %s: %w", pod, err)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("preparing exec in pod %s: %w", pod, err)
	}
	out := &tail{max: MaxErrorOutput}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: out, Stderr: out})
	var code utilexec.CodeExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &code):
		return &ExitError{Pod: pod, Container: container, Code: code.Code, Output: out.String()}
	}
	return fmt.Errorf("exec in pod %s (container %s): %w", pod, container, err)
}

// tail is an io.Writer that keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
	cut bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// String is the kept output, trimmed, valid UTF-8, with "..." in front
// when earlier output was dropped.
func (t *tail) String() string {
	b := t.buf
	for len(b) > 0 && !utf8.Valid(b) { // a cut may split a character
		b = b[1:]
	}
	s := strings.TrimSpace(string(b))
	if t.cut {
		s = "..." + s
	}
	return s
}
