package hooks

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	corev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/core/v1alpha1"
)

// get makes an HTTP GET hook's request; pod (may be nil) gives the host
// when the action names none, and container the named ports.
func (r *Runner) get(ctx context.Context, a *corev1.HTTPGetAction, pod *corev1.Pod, container string) error {
	u, err := target(a.Scheme, a.Host, a.Port, a.Path, pod, container)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return configErrorf("httpGet: %v", err)
	}
	return r.do(req, a.HTTPHeaders, u)
}

// post makes an HTTP POST hook's request: the form, url-encoded, when it
// has one, else the body.
func (r *Runner) post(ctx context.Context, a *corev1alpha1.HTTPPostAction, pod *corev1.Pod, container string) error {
	u, err := target(a.Scheme, a.Host, a.Port, a.Path, pod, container)
	if err != nil {
		return err
	}
	body, contentType := a.Body, ""
	if len(a.Form) > 0 {
		form := url.Values{}
		for _, f := range a.Form {
			for _, v := range f.Values {
				form.Add(f.Key, v)
			}
		}
		body, contentType = form.Encode(), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return configErrorf("httpPost: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return r.do(req, a.HTTPHeaders, u)
}

// do sends req with headers; a status outside 200-399 is an *HTTPError.
func (r *Runner) do(req *http.Request, headers []corev1.HTTPHeader, u *url.URL) error {
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	shown := *u
	shown.RawQuery, shown.User = "", nil // a query or user may carry a token
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", shown.String(), unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorOutput))
	return &HTTPError{URL: shown.String(), Status: resp.StatusCode, Body: strings.TrimSpace(strings.ToValidUTF8(string(start), ""))}
}

// unwrapURL drops *url.Error's "Get \"<url>\":" prefix, which would repeat
// the URL with its query.
func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// target builds the URL of an HTTP hook. Without a host it is the pod's IP
// (an Operator executor has no pod, so it needs a host); a named port is
// looked up in the pod's container.
func target(scheme corev1.URIScheme, host string, port intstr.IntOrString, path string, pod *corev1.Pod, container string) (*url.URL, error) {
	if host == "" {
		if pod == nil {
			return nil, configErrorf("the HTTP action has no host: set one, or use executor type Pod to call the selected pod")
		}
		if host = pod.Status.PodIP; host == "" {
			return nil, &NoPodError{Namespace: pod.Namespace, Selector: "", Why: pod.Name + " has no IP yet"}
		}
	}
	p, err := portNumber(port, pod, container)
	if err != nil {
		return nil, err
	}
	if scheme == "" {
		scheme = corev1.URISchemeHTTP
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(strings.ToLower(string(scheme)) + "://" + net.JoinHostPort(host, strconv.Itoa(p)) + path)
	if err != nil {
		return nil, configErrorf("the HTTP action's URL: %v", err)
	}
	return u, nil
}

// portNumber resolves a port given by number or by a container port's name.
func portNumber(port intstr.IntOrString, pod *corev1.Pod, container string) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, configErrorf("port %d is out of range", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	if pod == nil {
		return 0, configErrorf("port %q is a name, which only a Pod executor can look up in its pod", port.StrVal)
	}
	for _, c := range pod.Spec.Containers {
		if container != "" && c.Name != container {
			continue
		}
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				return int(cp.ContainerPort), nil
			}
		}
	}
	return 0, configErrorf("pod %s has no container port named %q", pod.Name, port.StrVal)
}
