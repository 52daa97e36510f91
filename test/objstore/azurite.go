package objstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"

	"github.com/cairnbackup/cairn/pkg/repo/backend/azblob"
	"github.com/cairnbackup/cairn/test/internal/proc"
	"gocloud.dev/blob"
)

// azuriteAccount is the storage account name Azurite serves; its key is
// random per start (AZURITE_ACCOUNTS), never the published dev key.
const azuriteAccount = "devstoreaccount1"

// StartAzurite starts Azurite's Blob service on addr with path-style URLs
// (http://host:port/<account>). Endpoint includes the account segment,
// AccessKey is the account name and SecretKey its base64 key. Call Stop
// when done.
func StartAzurite(ctx context.Context, addr string) (*Server, error) {
	script, err := azuriteBlobScript()
	if err != nil {
		return nil, err
	}
	// Run node explicitly: the process is then node itself, the binary
	// Stop checks before it signals a pid.
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("objstore: node is not installed (Azurite needs it): apt-get install -y nodejs")
	}
	return start(ctx, addr, launchSpec{
		name: "azurite",
		kind: KindAzure,
		ops:  azureOps{},
		endpoint: func(host string, port int) string {
			return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/" + azuriteAccount
		},
		command: func(srv *Server, host string, port int, dir string) ([]string, []string, error) {
			key := make([]byte, 64)
			_, _ = rand.Read(key) // never fails since Go 1.24
			srv.AccessKey = azuriteAccount
			srv.SecretKey = base64.StdEncoding.EncodeToString(key)
			env := []string{"AZURITE_ACCOUNTS=" + srv.AccessKey + ":" + srv.SecretKey}
			argv := []string{node, script,
				"--blobHost", host,
				"--blobPort", strconv.Itoa(port),
				"--location", dir + "/data",
				"--silent",
				"--skipApiVersionCheck",
				"--disableProductStyleUrl",
				// Telemetry would send traffic off this machine.
				"--disableTelemetry",
			}
			return env, argv, nil
		},
		probe: func(srv *Server) proc.Check {
			// Unauthenticated, so an auth error means it is serving.
			return proc.HTTPCheck(srv.Endpoint+"?comp=list", 200, 400, 401, 403)
		},
	})
}

// azureOps talks to Azurite through the product's Azure opener, signing
// with the account key.
type azureOps struct{}

// options are the opener's settings for s.
func (azureOps) options(s *Server) azblob.Options {
	return azblob.Options{ServiceURL: s.Endpoint, Account: s.AccessKey, Key: s.SecretKey}
}

func (o azureOps) createBucket(ctx context.Context, s *Server, name string) error {
	return azblob.CreateContainer(ctx, name, o.options(s))
}

func (o azureOps) openBucket(ctx context.Context, s *Server, name string) (*blob.Bucket, error) {
	b, _, err := azblob.Open(ctx, name, o.options(s))
	if err != nil {
		return nil, fmt.Errorf("azblob: %w", err)
	}
	return b, nil
}
