package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/rca-tool/rca/internal/buildinfo"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the rca version, commit and Go version",
		Args:  noArgs,
		// No config or environment is needed to say which build this is, and
		// a broken config file must not hide it.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(*cobra.Command, []string) error {
			info, _ := debug.ReadBuildInfo()
			return buildinfo.Write(a.stdout, info)
		},
	}
}
