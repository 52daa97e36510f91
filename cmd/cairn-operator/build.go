package main

import (
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/backupconfiguration"
	"github.com/cairnbackup/cairn/pkg/controller/backupsession"
	"github.com/cairnbackup/cairn/pkg/controller/backupstorage"
	"github.com/cairnbackup/cairn/pkg/controller/repository"
	"github.com/cairnbackup/cairn/pkg/controller/restoresession"
	"github.com/cairnbackup/cairn/pkg/controller/retentionpolicy"
	"github.com/cairnbackup/cairn/pkg/controller/snapshot"
	"github.com/cairnbackup/cairn/pkg/metrics/cairnmetrics"
)

// buildControllers makes every controller; each registers its informer
// handlers, so this runs before the informers start. One line per kind.
func buildControllers(d controller.Deps) ([]runner, error) {
	bc, err := backupconfiguration.New(d)
	if err != nil {
		return nil, err
	}
	bs, err := backupstorage.New(d)
	if err != nil {
		return nil, err
	}
	repo, err := repository.New(d)
	if err != nil {
		return nil, err
	}
	sessions, err := backupsession.New(d)
	if err != nil {
		return nil, err
	}
	// Session, repository and restore metrics, read from the same informers.
	if err := cairnmetrics.Register(d.Metrics, d.Informers.Cairn); err != nil {
		return nil, err
	}
	snapshots, err := snapshot.New(d)
	if err != nil {
		return nil, err
	}
	restores, err := restoresession.New(d)
	if err != nil {
		return nil, err
	}
	return []runner{
		retentionpolicy.New(d),
		bc,
		bs,
		repo,
		sessions,
		snapshots,
		restores,
	}, nil
}
