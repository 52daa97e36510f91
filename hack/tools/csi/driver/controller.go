package driver

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// defaultCapacity is the size reported for a volume created without a
// capacity range. Directories are not size-limited; the size is bookkeeping.
const defaultCapacity int64 = 1 << 30

// controller implements the CSI Controller service.
type controller struct {
	csi.UnimplementedControllerServer
	d *Driver
}

func (c *controller) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// checkCapabilities accepts mount volumes in any access mode (one node, so
// multi-node modes hold trivially) and refuses raw block.
func checkCapabilities(caps []*csi.VolumeCapability) error {
	if len(caps) == 0 {
		return status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	for _, c := range caps {
		if c.GetBlock() != nil {
			return status.Error(codes.InvalidArgument, "raw block volumes are not supported: use a filesystem (mount) volume")
		}
		if c.GetMount() == nil {
			return status.Error(codes.InvalidArgument, "volume capability needs an access type (mount)")
		}
		if c.GetAccessMode() == nil {
			return status.Error(codes.InvalidArgument, "volume capability needs an access mode")
		}
	}
	return nil
}

// wantedCapacity applies a CSI capacity range.
func wantedCapacity(r *csi.CapacityRange) (int64, error) {
	req, lim := r.GetRequiredBytes(), r.GetLimitBytes()
	if req < 0 || lim < 0 || (lim > 0 && req > lim) {
		return 0, status.Errorf(codes.OutOfRange, "capacity range required=%d limit=%d is not satisfiable", req, lim)
	}
	switch {
	case req > 0:
		return req, nil
	case lim > 0 && lim < defaultCapacity:
		return lim, nil
	default:
		return defaultCapacity, nil
	}
}

// sourceOf describes the content source of a request, for idempotency checks.
func sourceOf(cs *csi.VolumeContentSource) string {
	switch {
	case cs.GetSnapshot() != nil:
		return "snapshot:" + cs.GetSnapshot().GetSnapshotId()
	case cs.GetVolume() != nil:
		return "volume:" + cs.GetVolume().GetVolumeId()
	}
	return ""
}

func (c *controller) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume name is required")
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	capacity, err := wantedCapacity(req.GetCapacityRange())
	if err != nil {
		return nil, err
	}
	src := sourceOf(req.GetVolumeContentSource())
	s := c.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.volumeByName(req.GetName()); v != nil {
		lim := req.GetCapacityRange().GetLimitBytes()
		if v.Capacity < req.GetCapacityRange().GetRequiredBytes() || (lim > 0 && v.Capacity > lim) || v.Source != src {
			return nil, status.Errorf(codes.AlreadyExists, "volume %q exists with a different size or source", req.GetName())
		}
		return &csi.CreateVolumeResponse{Volume: v.csi(req.GetVolumeContentSource())}, nil
	}
	var from string
	switch cs := req.GetVolumeContentSource(); {
	case cs.GetSnapshot() != nil:
		id := cs.GetSnapshot().GetSnapshotId()
		if s.snapshots[id] == nil {
			return nil, status.Errorf(codes.NotFound, "source snapshot %q does not exist", id)
		}
		from = s.snapshotDir(id)
	case cs.GetVolume() != nil:
		id := cs.GetVolume().GetVolumeId()
		if s.volumes[id] == nil {
			return nil, status.Errorf(codes.NotFound, "source volume %q does not exist", id)
		}
		from = s.volumeDir(id)
	}
	v := &volume{ID: c.d.newID("vol"), Name: req.GetName(), Capacity: capacity, Source: src}
	dir := s.volumeDir(v.ID)
	if from != "" {
		_, err = copyTree(from, dir)
	} else {
		err = os.Mkdir(dir, 0o777)
	}
	if err == nil {
		err = os.Chmod(dir, 0o777) // any pod user may write, like an empty hostPath
	}
	if err == nil {
		err = s.writeRecord(v.ID, ".vol", v)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, status.Errorf(codes.Internal, "create volume %q: %v", req.GetName(), err)
	}
	s.volumes[v.ID] = v
	c.d.logf("created volume %s (%s, %d bytes, source %q)", v.ID, v.Name, v.Capacity, src)
	return &csi.CreateVolumeResponse{Volume: v.csi(req.GetVolumeContentSource())}, nil
}

// csi converts the record to the CSI message.
func (v *volume) csi(source *csi.VolumeContentSource) *csi.Volume {
	return &csi.Volume{VolumeId: v.ID, CapacityBytes: v.Capacity, ContentSource: source}
}

func (c *controller) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	}
	s := c.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.volumes[id] == nil {
		return &csi.DeleteVolumeResponse{}, nil // already gone: deletion is idempotent
	}
	if err := os.RemoveAll(s.volumeDir(id)); err != nil {
		return nil, status.Errorf(codes.Internal, "delete volume %s: %v", id, err)
	}
	if err := s.removeRecord(id, ".vol"); err != nil {
		return nil, status.Errorf(codes.Internal, "delete volume %s record: %v", id, err)
	}
	delete(s.volumes, id)
	c.d.logf("deleted volume %s", id)
	return &csi.DeleteVolumeResponse{}, nil
}

func (c *controller) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "volume id is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities are required")
	}
	c.d.store.mu.Lock()
	found := c.d.store.volumes[req.GetVolumeId()] != nil
	c.d.store.mu.Unlock()
	if !found {
		return nil, status.Errorf(codes.NotFound, "volume %q does not exist", req.GetVolumeId())
	}
	if err := checkCapabilities(req.GetVolumeCapabilities()); err != nil {
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext:      req.GetVolumeContext(),
		VolumeCapabilities: req.GetVolumeCapabilities(),
		Parameters:         req.GetParameters(),
	}}, nil
}

func (c *controller) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot name is required")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, status.Error(codes.InvalidArgument, "source volume id is required")
	}
	s := c.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snapshotByName(req.GetName()); sn != nil {
		if sn.SourceVolume != req.GetSourceVolumeId() {
			return nil, status.Errorf(codes.AlreadyExists, "snapshot %q exists for another volume (%s)", req.GetName(), sn.SourceVolume)
		}
		return &csi.CreateSnapshotResponse{Snapshot: sn.csi()}, nil
	}
	if s.volumes[req.GetSourceVolumeId()] == nil {
		return nil, status.Errorf(codes.NotFound, "source volume %q does not exist", req.GetSourceVolumeId())
	}
	sn := &snapshot{ID: c.d.newID("snap"), Name: req.GetName(), SourceVolume: req.GetSourceVolumeId(), CreatedNanos: time.Now().UnixNano()}
	size, err := copyTree(s.volumeDir(sn.SourceVolume), s.snapshotDir(sn.ID))
	sn.Size = size
	if err == nil {
		err = s.writeRecord(sn.ID, ".snap", sn)
	}
	if err != nil {
		os.RemoveAll(s.snapshotDir(sn.ID))
		return nil, status.Errorf(codes.Internal, "snapshot volume %s: %v", sn.SourceVolume, err)
	}
	s.snapshots[sn.ID] = sn
	c.d.logf("created snapshot %s of volume %s (%d bytes)", sn.ID, sn.SourceVolume, size)
	return &csi.CreateSnapshotResponse{Snapshot: sn.csi()}, nil
}

// csi converts the record to the CSI message; copies are ready at once.
func (sn *snapshot) csi() *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:     sn.ID,
		SourceVolumeId: sn.SourceVolume,
		SizeBytes:      sn.Size,
		CreationTime:   timestamppb.New(time.Unix(0, sn.CreatedNanos)),
		ReadyToUse:     true,
	}
}

func (c *controller) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	id := req.GetSnapshotId()
	if id == "" {
		return nil, status.Error(codes.InvalidArgument, "snapshot id is required")
	}
	s := c.d.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snapshots[id] == nil {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	if err := os.RemoveAll(s.snapshotDir(id)); err != nil {
		return nil, status.Errorf(codes.Internal, "delete snapshot %s: %v", id, err)
	}
	if err := s.removeRecord(id, ".snap"); err != nil {
		return nil, status.Errorf(codes.Internal, "delete snapshot %s record: %v", id, err)
	}
	delete(s.snapshots, id)
	c.d.logf("deleted snapshot %s", id)
	return &csi.DeleteSnapshotResponse{}, nil
}

func (c *controller) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	if req.GetMaxEntries() < 0 {
		return nil, status.Error(codes.InvalidArgument, "max_entries must not be negative")
	}
	s := c.d.store
	s.mu.Lock()
	var match []*snapshot
	for _, sn := range s.sortedSnapshots() {
		if id := req.GetSnapshotId(); id != "" && sn.ID != id {
			continue
		}
		if v := req.GetSourceVolumeId(); v != "" && sn.SourceVolume != v {
			continue
		}
		match = append(match, sn)
	}
	s.mu.Unlock()
	start := 0
	if tok := req.GetStartingToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(match) {
			return nil, status.Errorf(codes.Aborted, "starting token %q is not valid (want an index from a previous page)", tok)
		}
		start = n
	}
	end := len(match)
	if m := int(req.GetMaxEntries()); m > 0 && start+m < end {
		end = start + m
	}
	resp := &csi.ListSnapshotsResponse{}
	for _, sn := range match[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: sn.csi()})
	}
	if end < len(match) {
		resp.NextToken = strconv.Itoa(end)
	}
	return resp, nil
}

// newID returns a unique id with a readable prefix.
func (d *Driver) newID(prefix string) string {
	return fmt.Sprintf("%s-%d-%s", prefix, time.Now().UnixNano(), randomSuffix())
}
