package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

// Plan is the first phase of a prune: the packs it found unreferenced and
// means to delete once the grace period has passed. While a plan exists,
// every repository handle treats blobs in its packs as absent, so new
// backups store such data again instead of depending on it; a backup that
// began before the plan rescues what it used when it saves its snapshot
// (see SaveSnapshot).
type Plan struct {
	ID      ID        `json:"-"`
	Created time.Time `json:"created"`
	// Packs are the condemned packs.
	Packs []ID `json:"packs"`
	// Hostname of the machine that ran the prune, for messages.
	Hostname string `json:"hostname,omitempty"`
}

// SavePlan writes a plan and applies it to this handle.
func (r *Repository) SavePlan(ctx context.Context, p *Plan) (ID, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return ID{}, err
	}
	id, err := r.saveSealed(ctx, PlansPrefix, plain)
	if err != nil {
		return ID{}, fmt.Errorf("write prune plan: %w", err)
	}
	p.ID = id
	r.planMu.Lock()
	r.plansSeen[id] = true
	r.planMu.Unlock()
	r.idx.Exclude(p.Packs)
	return id, nil
}

// LoadPlan reads one plan.
func (r *Repository) LoadPlan(ctx context.Context, id ID) (*Plan, error) {
	plain, err := r.LoadSealed(ctx, PlansPrefix, id)
	if err != nil {
		return nil, err
	}
	return ParsePlan(id, plain)
}

// ParsePlan decodes a plan's plaintext.
func ParsePlan(id ID, plain []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%s%s: %w: %v", PlansPrefix, id, ErrCorrupt, err)
	}
	if p.Created.IsZero() {
		return nil, fmt.Errorf("%s%s: %w: plan has no creation time", PlansPrefix, id, ErrCorrupt)
	}
	p.ID = id
	return &p, nil
}

// DeletePlan removes a plan once prune has carried it out (or dropped it).
func (r *Repository) DeletePlan(ctx context.Context, id ID) error {
	return r.be.Delete(ctx, PlansPrefix+id.String())
}

// ListPlans returns every plan in the repository.
func (r *Repository) ListPlans(ctx context.Context) ([]*Plan, error) {
	ids, err := r.ListIDs(ctx, PlansPrefix)
	if err != nil {
		return nil, err
	}
	plans := make([]*Plan, 0, len(ids))
	for _, id := range ids {
		p, err := r.LoadPlan(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			continue // carried out since the listing
		}
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// RefreshPlans reads plans this handle has not seen yet, hides their packs
// from Has/Lookup and returns them.
func (r *Repository) RefreshPlans(ctx context.Context) ([]*Plan, error) {
	ids, err := r.ListIDs(ctx, PlansPrefix)
	if err != nil {
		return nil, fmt.Errorf("read prune plans: %w", err)
	}
	var fresh []*Plan
	for _, id := range ids {
		r.planMu.Lock()
		seen := r.plansSeen[id]
		r.planMu.Unlock()
		if seen {
			continue
		}
		p, err := r.LoadPlan(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			continue // carried out and removed since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("read prune plans: %w", err)
		}
		r.idx.Exclude(p.Packs)
		r.planMu.Lock()
		r.plansSeen[id] = true
		r.planMu.Unlock()
		fresh = append(fresh, p)
	}
	return fresh, nil
}

// plansVanished reports whether a plan this handle has seen was removed
// (carried out by a prune) since.
func (r *Repository) plansVanished(ctx context.Context) (bool, error) {
	ids, err := r.ListIDs(ctx, PlansPrefix)
	if err != nil {
		return false, err
	}
	listed := map[ID]bool{}
	for _, id := range ids {
		listed[id] = true
	}
	r.planMu.Lock()
	defer r.planMu.Unlock()
	for id := range r.plansSeen {
		if !listed[id] {
			return true, nil
		}
	}
	return false, nil
}
