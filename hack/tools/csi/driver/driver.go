package driver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	csitest "github.com/kubernetes-csi/csi-test/v5/driver"
	"google.golang.org/grpc"
	registration "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Version is reported by GetPluginInfo.
const Version = "0.1.0"

// Config selects the driver's name, node and where it keeps state.
type Config struct {
	// Name is the CSI driver name StorageClasses and VolumeSnapshotClasses
	// refer to, e.g. "csi.cairn.local".
	Name string
	// NodeID is the Kubernetes node name the driver runs on.
	NodeID string
	// StateDir holds volumes, snapshots and their records.
	StateDir string
	// Logger receives one line per change; nil uses the standard logger.
	Logger *log.Logger
}

// Driver serves the CSI Identity, Controller and Node services.
type Driver struct {
	cfg   Config
	store *store
	csi   *csitest.CSIDriver
	reg   *grpc.Server
}

// New checks cfg and opens the state directory.
func New(cfg Config) (*Driver, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("driver name is empty: pass --driver-name (e.g. csi.cairn.local)")
	case cfg.NodeID == "":
		return nil, errors.New("node id is empty: pass --node-id with the Kubernetes node name")
	case cfg.StateDir == "":
		return nil, errors.New("state directory is empty: pass --state-dir")
	}
	if cfg.Logger == nil {
		cfg.Logger = log.Default()
	}
	st, err := openStore(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, store: st}
	d.csi = csitest.NewCSIDriver(&csitest.CSIDriverServers{
		Identity:   &identity{d: d},
		Controller: &controller{d: d},
		Node:       &node{d: d},
	})
	return d, nil
}

func (d *Driver) logf(format string, args ...any) { d.cfg.Logger.Printf(format, args...) }

// listenUnix removes a stale socket at path and listens there.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return net.Listen("unix", path)
}

// Serve starts the CSI services on the unix socket csiSocket. When
// registrationDir is set (the kubelet's plugins_registry directory), it also
// serves the kubelet plugin-registration API there, so the kubelet learns
// about the driver and calls it to mount volumes into pods.
func (d *Driver) Serve(csiSocket, registrationDir string) error {
	l, err := listenUnix(csiSocket)
	if err != nil {
		return fmt.Errorf("listen on CSI socket: %w", err)
	}
	if err := d.csi.Start(l); err != nil {
		return err
	}
	if registrationDir == "" {
		return nil
	}
	rl, err := listenUnix(filepath.Join(registrationDir, d.cfg.Name+"-reg.sock"))
	if err != nil {
		d.csi.Stop()
		return fmt.Errorf("listen on kubelet registration socket: %w", err)
	}
	d.reg = grpc.NewServer()
	registration.RegisterRegistrationServer(d.reg, &registrar{d: d, endpoint: csiSocket})
	go func() {
		if err := d.reg.Serve(rl); err != nil {
			d.logf("registration server stopped: %v", err)
		}
	}()
	return nil
}

// Stop ends both servers.
func (d *Driver) Stop() {
	if d.reg != nil {
		d.reg.Stop()
	}
	d.csi.Stop()
}

// identity implements the CSI Identity service.
type identity struct {
	csi.UnimplementedIdentityServer
	d *Driver
}

func (i *identity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: i.d.cfg.Name, VendorVersion: Version}, nil
}

func (i *identity) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{{
		Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{
			Type: csi.PluginCapability_Service_CONTROLLER_SERVICE}},
	}}}, nil
}

func (i *identity) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{}, nil
}

// registrar answers the kubelet's plugin watcher.
type registrar struct {
	registration.UnimplementedRegistrationServer
	d        *Driver
	endpoint string
}

func (r *registrar) GetInfo(context.Context, *registration.InfoRequest) (*registration.PluginInfo, error) {
	return &registration.PluginInfo{
		Type:              registration.CSIPlugin,
		Name:              r.d.cfg.Name,
		Endpoint:          r.endpoint,
		SupportedVersions: []string{"1.0.0"},
	}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, s *registration.RegistrationStatus) (*registration.RegistrationStatusResponse, error) {
	if s.PluginRegistered {
		r.d.logf("kubelet registered driver %s", r.d.cfg.Name)
	} else {
		r.d.logf("kubelet refused driver %s: %s", r.d.cfg.Name, s.Error)
	}
	return &registration.RegistrationStatusResponse{}, nil
}

// randomSuffix returns 8 random hex digits for ids.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
