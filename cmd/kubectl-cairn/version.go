package main

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/pkg/kubectlcairn/printer"
	"github.com/cairnbackup/cairn/pkg/version"
)

// The operator's Deployment, as deploy/ installs it.
const (
	operatorNamespace  = "cairn-system"
	operatorDeployment = "cairn-operator"
)

// versions is what `kubectl cairn version -o json` prints.
type versions struct {
	Client version.Info `json:"client"`
	// OperatorImage is the image of the operator's Deployment, when it
	// could be read.
	OperatorImage string `json:"operatorImage,omitempty"`
}

func (a *app) versionCmd() *cobra.Command {
	var clientOnly bool
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version, and the operator's image in the cluster",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := a.format()
			if err != nil {
				return err
			}
			v := versions{Client: version.Get()}
			var opErr error
			if !clientOnly {
				v.OperatorImage, opErr = a.operatorImage(cmd)
			}
			if f != printer.Table {
				return printer.Write(a.stdout, f, v)
			}
			fmt.Fprintf(a.stdout, "kubectl-cairn %s (commit %s, %s, %s)\n", v.Client.Version, v.Client.Commit, v.Client.GoVersion, v.Client.Platform)
			switch {
			case clientOnly:
			case opErr != nil:
				fmt.Fprintf(a.stdout, "operator: unknown (%v)\n", opErr)
			default:
				fmt.Fprintf(a.stdout, "operator: %s\n", v.OperatorImage)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&clientOnly, "client", false, "only the plugin's version; do not ask the cluster")
	return c
}

func (a *app) operatorImage(cmd *cobra.Command) (string, error) {
	cl, err := a.clients()
	if err != nil {
		return "", err
	}
	d, err := cl.Kube.AppsV1().Deployments(operatorNamespace).Get(cmd.Context(), operatorDeployment, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading Deployment %s/%s: %w", operatorNamespace, operatorDeployment, err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "operator" {
			return c.Image, nil
		}
	}
	return "", fmt.Errorf("Deployment %s/%s has no container named operator", operatorNamespace, operatorDeployment)
}
