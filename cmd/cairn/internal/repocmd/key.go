package repocmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/cairnbackup/cairn/cmd/cairn/internal/cli"
	"github.com/cairnbackup/cairn/pkg/repo"
)

type keyFlags struct{ newPasswordFile string }

func init() {
	register("key", &command{
		summary: "manage the repository's keys: add, list, remove KEYID, passwd",
		usage:   "add|list|remove KEYID|passwd",
		flags: func(fs *pflag.FlagSet, e *env) {
			k := &keyFlags{}
			fs.StringVar(&k.newPasswordFile, "new-password-file", "", "file with the new password (add, passwd); default $CAIRN_NEW_PASSWORD")
			e.cmd = k
		},
		run: runKey,
	})
}

type keyResult struct {
	Action string         `json:"action"`
	KeyID  string         `json:"keyId,omitempty"`
	Keys   []repo.KeyInfo `json:"keys,omitempty"`
}

func runKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("key needs a subcommand: add, list, remove KEYID or passwd")
	}
	k := e.cmd.(*keyFlags)
	sub, rest := args[0], args[1:]
	want := map[string]int{"add": 0, "list": 0, "remove": 1, "passwd": 0}
	n, ok := want[sub]
	if !ok {
		return cli.Usagef("unknown key subcommand %q: use add, list, remove KEYID or passwd", sub)
	}
	if len(rest) != n {
		return cli.Usagef("key %s takes %d argument(s), got %d", sub, n, len(rest))
	}
	needNew := sub == "add" || sub == "passwd"
	var newPw string
	haveNew := false
	if needNew {
		// Checked before opening, so a script without a new password
		// fails at once; on a terminal it is asked for after the
		// current password has been checked.
		var err error
		if newPw, haveNew, err = cli.NewPasswordGiven(k.newPasswordFile); err != nil {
			return err
		}
		if !haveNew && e.prompt == nil {
			return cli.Usagef("no new password given: use --new-password-file FILE or set %s, or run on a terminal to be asked", cli.EnvNewPassword)
		}
	}
	r, err := openRepo(ctx, e)
	if err != nil {
		return err
	}
	defer r.Close()
	if needNew && !haveNew {
		if newPw, err = e.prompt.AskTwice(ctx, "New password: ", "Repeat the new password: "); err != nil {
			return err
		}
	}
	res := keyResult{Action: sub}
	switch sub {
	case "add":
		id, err := r.AddKey(ctx, newPw)
		if err != nil {
			return classify(err)
		}
		res.KeyID = id.String()
	case "passwd":
		id, err := r.ChangePassword(ctx, newPw)
		if err != nil {
			return classify(err)
		}
		res.KeyID = id.String()
	case "remove":
		id, err := findKey(ctx, r, rest[0])
		if err != nil {
			return err
		}
		if err := r.RemoveKey(ctx, id); err != nil {
			return classify(err)
		}
		res.KeyID = id.String()
	case "list":
		if res.Keys, err = r.ListKeys(ctx); err != nil {
			return classify(err)
		}
	}
	return e.out.Result(res, func(w io.Writer) {
		switch sub {
		case "add":
			fmt.Fprintf(w, "added key %s\n", res.KeyID[:8])
		case "passwd":
			fmt.Fprintf(w, "password changed; new key %s replaces the old one\n", res.KeyID[:8])
		case "remove":
			fmt.Fprintf(w, "removed key %s\n", res.KeyID[:8])
		case "list":
			t := cli.Table(w)
			fmt.Fprintln(t, " \tID\tCreated\tHost\tUser")
			for _, k := range res.Keys {
				cur := " "
				if k.Current {
					cur = "*"
				}
				fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", cur, k.ID.Short(), k.Created.Local().Format("2006-01-02 15:04:05"), k.Hostname, k.Username)
			}
			t.Flush()
		}
	})
}

// findKey resolves a key ID prefix among the repository's keys.
func findKey(ctx context.Context, r *repo.Repository, prefix string) (repo.ID, error) {
	if prefix == "" {
		return repo.ID{}, cli.Usagef("key remove needs a key ID (see `cairn repo key list`)")
	}
	keys, err := r.ListKeys(ctx)
	if err != nil {
		return repo.ID{}, classify(err)
	}
	var match []repo.ID
	for _, k := range keys {
		if strings.HasPrefix(k.ID.String(), strings.ToLower(prefix)) {
			match = append(match, k.ID)
		}
	}
	switch len(match) {
	case 0:
		return repo.ID{}, cli.Usagef("no key with ID %q (see `cairn repo key list`)", prefix)
	case 1:
		return match[0], nil
	}
	return repo.ID{}, cli.Usagef("key ID prefix %q is ambiguous; give more digits", prefix)
}
