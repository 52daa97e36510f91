// Package storagecmd is `cairn storage`: what the operator's short Jobs run
// on a local BackupStorage (NFS, a PVC, a hostPath), which only a pod that
// mounts the volume can reach. `init` writes or adopts metadata.yaml and
// lists the repository records of an adopted volume; `record` claims a
// Repository's directory; `wipe` deletes data. Each prints a JSON result and
// writes it to --result-file (the container's termination message), where
// the operator reads it back.
package storagecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	storagev1 "github.com/cairnbackup/cairn/pkg/apis/storage/v1alpha1"
	"github.com/cairnbackup/cairn/pkg/blob"
	"github.com/cairnbackup/cairn/pkg/repo/backend"
)

const usage = `Usage: cairn storage init|record|wipe --url file:///PATH [flags]

Run by the operator in a Job that mounts a local BackupStorage's volume:
  init    write metadata.yaml (--cluster, --namespace, --name, --uid of the
          BackupStorage) or keep the one there, listing the repository
          records of a storage another BackupStorage initialised
  record  write DIR/repository.yaml (--dir, --cluster, --namespace, --name,
          --uid, --spec of the Repository), replacing one that names
          --take-over UID; otherwise report the record in place
  wipe    delete every object under --prefix ("" for the whole storage)
The result is JSON on stdout and in --result-file. Exit 1 when the storage
refused (the result says why), 2 on a usage error.

Flags:
`

// Main runs `cairn storage` with args (after the command name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("cairn storage", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage+fs.FlagUsages()) }
	rawURL := fs.String("url", "", "the storage, as file:///mount-path (required)")
	resultFile := fs.String("result-file", "/dev/termination-log", "where to write the result as well as stdout (\"\" for stdout only)")
	cluster := fs.String("cluster", "", "init, record: the operator's cluster identity")
	namespace := fs.String("namespace", "", "init, record: namespace of the object")
	name := fs.String("name", "", "init, record: name of the object")
	uid := fs.String("uid", "", "init, record: UID of the object")
	dir := fs.String("dir", "", "record: the repository's directory")
	spec := fs.String("spec", "{}", "record: the Repository's spec as JSON, kept in repository.yaml")
	takeOver := fs.String("take-over", "", "record: replace a record naming this UID")
	prefix := fs.String("prefix", "", "wipe: delete the objects under this prefix")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return cli.Usagef("%v", err)
	}
	if fs.NArg() != 1 || *rawURL == "" {
		return cli.Usagef("one of init, record or wipe, and --url, are required (see 'cairn storage --help')")
	}
	verb := fs.Arg(0)
	ref := blob.ObjectRef{Namespace: *namespace, Name: *name, UID: types.UID(*uid)}
	if verb != "wipe" && (*cluster == "" || ref.Namespace == "" || ref.Name == "" || ref.UID == "") {
		return cli.Usagef("%s needs --cluster, --namespace, --name and --uid", verb)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var run func(b *backend.Backend) blob.JobResult
	switch verb {
	case "init":
		run = func(b *backend.Backend) blob.JobResult {
			return blob.InitStorage(ctx, b, &blob.StorageMetadata{Cluster: *cluster, BackupStorage: ref, CreatedAt: now})
		}
	case "record":
		d, err := blob.CleanDirectory(*dir)
		if err != nil {
			return cli.Usagef("--dir: %v", err)
		}
		var s storagev1.RepositorySpec
		if err := json.Unmarshal([]byte(*spec), &s); err != nil {
			return cli.Usagef("--spec is not a Repository spec: %v", err)
		}
		run = func(b *backend.Backend) blob.JobResult {
			return blob.RecordRepository(ctx, b, d, &blob.RepositoryMetadata{Cluster: *cluster, Repository: ref, Spec: s, CreatedAt: now}, types.UID(*takeOver))
		}
	case "wipe":
		run = func(b *backend.Backend) blob.JobResult { return blob.WipeStorage(ctx, b, *prefix) }
	default:
		return cli.Usagef("unknown storage command %q: init, record or wipe", verb)
	}

	var res blob.JobResult
	b, err := backend.Open(ctx, *rawURL, backend.Options{Create: verb == "init"})
	if err != nil {
		res = blob.Failed(err, "opening "+backend.Redact(*rawURL))
	} else {
		res = run(b)
		b.Close()
	}
	out := res.Encode()
	fmt.Fprintf(stdout, "%s\n", out)
	if *resultFile != "" {
		if err := os.WriteFile(*resultFile, out, 0o644); err != nil {
			return fmt.Errorf("writing the result: %w", err)
		}
	}
	if res.Reason != "" {
		return cli.WithCode(cli.ExitFailure, errors.New(res.Message))
	}
	return nil
}
