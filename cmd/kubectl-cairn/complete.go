package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/kubectlcairn/kubeflags"
)

// Shell completion of object names: each completer lists the objects of
// the namespace the command line selects (its -n, --context...), within
// a few seconds, and completes nothing when the cluster does not answer.

// names lists the names to offer.
type names func(ctx context.Context, cl *kubeflags.Clients, args []string) ([]string, error)

// complete turns list into a completion function; with first, only the
// first positional argument is completed.
func (a *app) complete(first bool, list names) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if first && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		cl, err := a.clients()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out, err := list(ctx, cl, args)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// itemNames are the names of a list's items.
func itemNames[T any, P interface {
	*T
	GetName() string
}](items []T) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		out = append(out, P(&items[i]).GetName())
	}
	return out
}

var all = metav1.ListOptions{}

func (a *app) completeConfigs(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(true, func(ctx context.Context, cl *kubeflags.Clients, _ []string) ([]string, error) {
		l, err := cl.Cairn.CoreV1alpha1().BackupConfigurations(cl.Namespace).List(ctx, all)
		if err != nil {
			return nil, err
		}
		return itemNames(l.Items), nil
	})(cmd, args, s)
}

// completeSessions completes --session with the sessions of the config
// named by the first argument.
func (a *app) completeSessions(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(false, func(ctx context.Context, cl *kubeflags.Clients, args []string) ([]string, error) {
		if len(args) == 0 {
			return nil, nil
		}
		bc, err := cl.Cairn.CoreV1alpha1().BackupConfigurations(cl.Namespace).Get(ctx, args[0], metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, x := range bc.Spec.Sessions {
			out = append(out, x.Name)
		}
		return out, nil
	})(cmd, args, s)
}

func (a *app) completeRepositories(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(true, func(ctx context.Context, cl *kubeflags.Clients, _ []string) ([]string, error) {
		l, err := cl.Cairn.StorageV1alpha1().Repositories(cl.Namespace).List(ctx, all)
		if err != nil {
			return nil, err
		}
		return itemNames(l.Items), nil
	})(cmd, args, s)
}

func (a *app) completeSnapshots(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(true, func(ctx context.Context, cl *kubeflags.Clients, _ []string) ([]string, error) {
		l, err := cl.Cairn.StorageV1alpha1().Snapshots(cl.Namespace).List(ctx, all)
		if err != nil {
			return nil, err
		}
		return append([]string{"latest"}, itemNames(l.Items)...), nil
	})(cmd, args, s)
}

// completeSessionObjects completes BackupSession and RestoreSession names.
func (a *app) completeSessionObjects(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(true, func(ctx context.Context, cl *kubeflags.Clients, _ []string) ([]string, error) {
		bl, err := cl.Cairn.CoreV1alpha1().BackupSessions(cl.Namespace).List(ctx, all)
		if err != nil {
			return nil, err
		}
		rl, err := cl.Cairn.CoreV1alpha1().RestoreSessions(cl.Namespace).List(ctx, all)
		if err != nil {
			return nil, err
		}
		return append(itemNames(bl.Items), itemNames(rl.Items)...), nil
	})(cmd, args, s)
}

func (a *app) completeNamespaces(cmd *cobra.Command, args []string, s string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.complete(false, func(ctx context.Context, cl *kubeflags.Clients, _ []string) ([]string, error) {
		l, err := cl.Kube.CoreV1().Namespaces().List(ctx, all)
		if err != nil {
			return nil, err
		}
		return itemNames(l.Items), nil
	})(cmd, args, s)
}
