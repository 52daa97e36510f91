package main

import (
	"github.com/cairnbackup/cairn/pkg/controller"
	"github.com/cairnbackup/cairn/pkg/controller/retentionpolicy"
)

// buildControllers makes every controller; each registers its informer
// handlers, so this runs before the informers start. One line per kind.
func buildControllers(d controller.Deps) ([]runner, error) {
	return []runner{
		retentionpolicy.New(d),
	}, nil
}
