package repocmd

import (
	"context"
	"fmt"
	"io"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
)

func init() {
	register("init", &command{
		summary: "create a new repository",
		run:     runInit,
	})
}

type initResult struct {
	Repository string `json:"repository"`
	ID         string `json:"id"`
	KeyID      string `json:"keyId"`
}

func runInit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("init takes no arguments, got %q", joinArgs(args))
	}
	pw, err := e.opts.InitPassword(ctx, e.prompt)
	if err != nil {
		return err
	}
	be, err := openBackend(ctx, e, true)
	if err != nil {
		return err
	}
	defer be.Close()
	r, err := repo.Init(ctx, be, pw, engineOptions(e))
	if err != nil {
		return classify(err)
	}
	defer r.Close()
	cfg := r.Config()
	res := initResult{Repository: be.URL(), ID: fmt.Sprintf("%x", cfg.ID[:]), KeyID: r.KeyID().String()}
	return e.out.Result(res, func(w io.Writer) {
		if !e.opts.Quiet {
			fmt.Fprintf(w, "created repository %s at %s\n", res.ID[:8], res.Repository)
			fmt.Fprintln(w, "Keep the password safe: without it the data cannot be read.")
		}
	})
}
