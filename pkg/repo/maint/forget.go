// Package maint holds repository maintenance: forget (retention policy),
// prune (two-phase, safe while backups run), check and stats.
package maint

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/pkg/repo"
)

// ErrEmptyPolicy means a policy without any rule: it would forget every
// snapshot, so ApplyPolicy refuses it.
var ErrEmptyPolicy = errors.New("no retention rule given: refusing to forget every snapshot")

// Policy says which snapshots to keep; every other snapshot in a group is
// forgotten. Counts keep the newest snapshot of each of the last N hours,
// days, ISO weeks, months or years that have a snapshot.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every snapshot younger than this (relative to now).
	Within time.Duration
	// KeepTags keeps every snapshot carrying any of these tags.
	KeepTags []string
}

// Empty reports whether the policy has no rule at all.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 &&
		p.Yearly == 0 && p.Within == 0 && len(p.KeepTags) == 0
}

// Validate rejects negative counts.
func (p Policy) Validate() error {
	for _, n := range []int{p.Last, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n < 0 {
			return fmt.Errorf("retention counts must not be negative (got %d)", n)
		}
	}
	if p.Within < 0 {
		return fmt.Errorf("keep-within must not be negative (got %s)", p.Within)
	}
	return nil
}

// Decision is the fate of one snapshot.
type Decision struct {
	Snapshot *repo.Snapshot `json:"-"`
	ID       string         `json:"id"`
	Keep     bool           `json:"keep"`
	Reasons  []string       `json:"reasons,omitempty"`
}

// Group is the snapshots that share a GroupKey, newest first.
type Group struct {
	Hostname  string     `json:"hostname"`
	Paths     []string   `json:"paths"`
	Tags      []string   `json:"tags,omitempty"`
	Decisions []Decision `json:"snapshots"`
}

// GroupKey says which snapshots a policy compares with each other: those
// with the same host, the same set of paths and/or the same set of tags.
type GroupKey struct{ Host, Paths, Tags bool }

// ApplyPolicy decides, per group, which snapshots the policy keeps. It does
// not touch the repository.
func ApplyPolicy(snaps []*repo.Snapshot, p Policy, by GroupKey, now time.Time) ([]Group, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Empty() {
		return nil, ErrEmptyPolicy
	}
	groups := map[string]*Group{}
	var order []string
	for _, sn := range snaps {
		paths := append([]string(nil), sn.Paths...)
		sort.Strings(paths)
		var key, host string
		if by.Host {
			host = sn.Hostname
			key = host
		}
		if by.Paths {
			key += "\x00" + strings.Join(paths, "\x00")
		} else {
			paths = nil
		}
		var tags []string
		if by.Tags {
			tags = append(tags, sn.Tags...)
			sort.Strings(tags)
			key += "\x01" + strings.Join(tags, "\x00")
		}
		g, ok := groups[key]
		if !ok {
			g = &Group{Hostname: host, Paths: paths, Tags: tags}
			groups[key] = g
			order = append(order, key)
		}
		g.Decisions = append(g.Decisions, Decision{Snapshot: sn, ID: sn.ID.String()})
	}
	sort.Strings(order)
	out := make([]Group, 0, len(order))
	for _, k := range order {
		g := groups[k]
		decide(g.Decisions, p, now)
		out = append(out, *g)
	}
	return out, nil
}

type bucketRule struct {
	name  string
	count int
	key   func(time.Time) string
}

func decide(ds []Decision, p Policy, now time.Time) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Snapshot.Time.After(ds[j].Snapshot.Time) })
	rules := []bucketRule{
		{"last", p.Last, nil},
		{"hourly", p.Hourly, func(t time.Time) string { return t.Format("2006-01-02 15") }},
		{"daily", p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-%02d", y, w) }},
		{"monthly", p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{"yearly", p.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
	for _, r := range rules {
		left, lastKey := r.count, ""
		for i := range ds {
			if left == 0 {
				break
			}
			if r.key == nil {
				ds[i].keep("last snapshot")
				left--
				continue
			}
			k := r.key(ds[i].Snapshot.Time.Local())
			if k != lastKey {
				ds[i].keep(r.name + " snapshot")
				lastKey = k
				left--
			}
		}
	}
	for i := range ds {
		sn := ds[i].Snapshot
		if p.Within > 0 && now.Sub(sn.Time) <= p.Within {
			ds[i].keep("within " + p.Within.String())
		}
		for _, t := range p.KeepTags {
			if sn.HasTag(t) {
				ds[i].keep("tag " + t)
			}
		}
	}
}

func (d *Decision) keep(reason string) {
	d.Keep = true
	d.Reasons = append(d.Reasons, reason)
}

// Forget applies the policy and, unless dryRun, deletes the snapshots it
// does not keep. Data stays until prune. It returns the decisions, and the
// snapshot objects it could not read: the policy never counts or removes
// those (removing one takes its ID, see repo.DeleteSnapshot).
func Forget(ctx context.Context, r *repo.Repository, p Policy, by GroupKey, now time.Time, dryRun bool) ([]Group, []*repo.DamagedSnapshot, error) {
	snaps, damaged, err := r.ListSnapshots(ctx)
	if err != nil {
		return nil, nil, err
	}
	groups, err := ApplyPolicy(snaps, p, by, now)
	if err != nil || dryRun {
		return groups, damaged, err
	}
	for _, g := range groups {
		for _, d := range g.Decisions {
			if !d.Keep {
				if err := r.DeleteSnapshot(ctx, d.Snapshot.ID); err != nil {
					return groups, damaged, fmt.Errorf("forget %s: %w", d.Snapshot.ID.Short(), err)
				}
			}
		}
	}
	return groups, damaged, nil
}
