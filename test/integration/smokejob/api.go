package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// saDir is where the kubelet mounts the projected service-account token, the
// cluster CA and the namespace.
const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// apiClient talks to the API server as the pod's service account.
type apiClient struct {
	base, token, namespace string
	http                   *http.Client
}

// inClusterAPI builds a client from the projected token and the
// KUBERNETES_SERVICE_* variables the kubelet injects.
func inClusterAPI() (*apiClient, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, fmt.Errorf("KUBERNETES_SERVICE_HOST/PORT not set: not running in a pod?")
	}
	token, err := os.ReadFile(filepath.Join(saDir, "token"))
	if err != nil {
		return nil, fmt.Errorf("read projected token: %w", err)
	}
	ns, err := os.ReadFile(filepath.Join(saDir, "namespace"))
	if err != nil {
		return nil, fmt.Errorf("read namespace: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("read cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s/ca.crt holds no certificate", saDir)
	}
	return &apiClient{
		base:      "https://" + net.JoinHostPort(host, port),
		token:     strings.TrimSpace(string(token)),
		namespace: strings.TrimSpace(string(ns)),
		http:      &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}, nil
}

// getSecret fetches a Secret of the pod's namespace and returns the HTTP
// status and body.
func (a *apiClient) getSecret(ctx context.Context, name string) (int, []byte, error) {
	if name == "" {
		return 0, nil, fmt.Errorf("no secret name given (set SMOKE_SECRET)")
	}
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/secrets/%s", a.base, a.namespace, name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET secret %s via %s: %w", name, a.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// secretValue returns one key of a Secret.
func (a *apiClient) secretValue(ctx context.Context, name, key string) ([]byte, error) {
	code, body, err := a.getSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET secret %s: HTTP %d: %s", name, code, strings.TrimSpace(string(body)))
	}
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("decode secret %s: %w", name, err)
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("secret %s has no key %q", name, key)
	}
	return v, nil
}

// expectForbidden checks that the API server denies reading a Secret the
// pod's Role does not name.
func (a *apiClient) expectForbidden(ctx context.Context, name string) error {
	code, _, err := a.getSecret(ctx, name)
	if err != nil {
		return err
	}
	if code != http.StatusForbidden {
		return fmt.Errorf("GET secret %s returned HTTP %d, want 403: RBAC is not enforced", name, code)
	}
	return nil
}
