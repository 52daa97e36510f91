package main

import (
	"github.com/spf13/cobra"

	"github.com/cairnbackup/cairn/pkg/convert"
)

func (a *app) convertCmd() *cobra.Command {
	var files []string
	c := &cobra.Command{
		Use:   "convert -f FILE|DIR",
		Short: "Convert KubeStash YAML to Cairn YAML (printed on stdout; warnings on stderr)",
		Long: `Reads KubeStash objects (storage.kubestash.com, core.kubestash.com,
addons.kubestash.com) and prints the Cairn objects that do the same job.
Every field Cairn cannot carry is named in a warning on stderr and in a YAML
comment beside the nearest field; kinds Cairn does not have are refused.
-f - reads stdin; a directory is every .yaml, .yml and .json file in it.
Nothing is sent to the cluster.`,
		Example: `  kubectl cairn convert -f kubestash/ > cairn.yaml
  kubectl get backupconfigurations.core.kubestash.com -A -o yaml | kubectl cairn convert -f -`,
		Args: args(0, 0, "no arguments (name the inputs with -f)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "" && a.output != "yaml" {
				return errNoOutput
			}
			if len(files) == 0 {
				return errMissingF
			}
			return convert.Run(files, a.stdout, a.stderr)
		},
	}
	c.Flags().StringArrayVarP(&files, "filename", "f", nil, "a KubeStash YAML file, a directory of them, or - for stdin (repeatable)")
	_ = c.MarkFlagFilename("filename", "yaml", "yml", "json")
	return c
}
