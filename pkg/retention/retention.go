// Package retention decides which Snapshot objects of a repository a
// RetentionPolicy keeps. It works on Snapshot objects (one per backup
// session, each with a component per Job), not on engine snapshots, so a
// session's components are kept or dropped together; the rules themselves
// (last N, newest per hour/day/week/month/year, everything younger than
// maxRetentionPeriod) are the engine's own (pkg/repo/maint.ApplyPolicy),
// so `cairn repo forget` and the operator agree on every policy.
package retention

import (
	"fmt"
	"sort"
	"time"

	storagev1alpha1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/repo"
	"github.com/cairnbackup/cairn/pkg/repo/maint"
)

// Plan is what a policy decided for one repository's Snapshots.
type Plan struct {
	// Keep and Drop split the Succeeded Snapshots.
	Keep, Drop []*storagev1alpha1.Snapshot
	// DropFailed are Failed Snapshots beyond failedSnapshots.last (they
	// hold no engine data: only the objects go).
	DropFailed []*storagev1alpha1.Snapshot
}

// EngineSnapshots are the engine snapshot IDs of the dropped Snapshots'
// components: what the repository must forget.
func (p *Plan) EngineSnapshots() []string {
	var ids []string
	for _, s := range p.Drop {
		for _, c := range s.Status.Components {
			if c.DataMoverSnapshotID != "" {
				ids = append(ids, c.DataMoverSnapshotID)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// Decide applies spec to a repository's Snapshots at time now. Running
// and Pending Snapshots are never touched. A policy with no rule for
// successful snapshots keeps them all.
func Decide(snaps []*storagev1alpha1.Snapshot, spec *storagev1alpha1.RetentionPolicySpec, now time.Time) (*Plan, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	within, _ := storagev1alpha1.ParseRetentionPeriod(spec.MaxRetentionPeriod)
	pol := maint.Policy{Within: within}
	if k := spec.SuccessfulSnapshots; k != nil {
		pol.Last, pol.Hourly, pol.Daily = val(k.Last), val(k.Hourly), val(k.Daily)
		pol.Weekly, pol.Monthly, pol.Yearly = val(k.Weekly), val(k.Monthly), val(k.Yearly)
	}
	plan := &Plan{}
	var ok, failed []*storagev1alpha1.Snapshot
	for _, s := range snaps {
		switch s.Status.Phase {
		case storagev1alpha1.SnapshotSucceeded:
			ok = append(ok, s)
		case storagev1alpha1.SnapshotFailed:
			failed = append(failed, s)
		}
	}
	if pol.Empty() {
		plan.Keep = ok
	} else {
		byID := map[string]*storagev1alpha1.Snapshot{}
		stand := make([]*repo.Snapshot, 0, len(ok))
		for i, s := range ok {
			id := repo.ID{}
			copy(id[:], fmt.Sprintf("%032d", i))
			byID[id.String()] = s
			stand = append(stand, &repo.Snapshot{ID: id, Time: Time(s)})
		}
		groups, err := maint.ApplyPolicy(stand, pol, maint.GroupKey{}, now)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			for _, d := range g.Decisions {
				if d.Keep {
					plan.Keep = append(plan.Keep, byID[d.ID])
				} else {
					plan.Drop = append(plan.Drop, byID[d.ID])
				}
			}
		}
	}
	if spec.FailedSnapshots != nil && spec.FailedSnapshots.Last != nil {
		sort.Slice(failed, func(i, j int) bool { return Time(failed[i]).After(Time(failed[j])) })
		if n := int(*spec.FailedSnapshots.Last); len(failed) > n {
			plan.DropFailed = failed[n:]
		}
	}
	return plan, nil
}

// Time is when a Snapshot was taken (its creation if it has no time).
func Time(s *storagev1alpha1.Snapshot) time.Time {
	if s.Status.SnapshotTime != nil {
		return s.Status.SnapshotTime.Time
	}
	return s.CreationTimestamp.Time
}

func val(p *int32) int {
	if p == nil {
		return 0
	}
	return int(*p)
}
