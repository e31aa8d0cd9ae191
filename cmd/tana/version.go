package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tana-cmdb/tana/version"
)

func newVersionCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print tana's version, commit, Go version and build date",
		Long: `version prints what this binary is: its version, the commit it was built from, the Go
version and the build date (make build links them in; a plain go build takes them from the
module and VCS information Go records). A running server's /healthz says the same.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			info := version.Get()
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(info)
			}
			_, err := fmt.Fprintln(c.stdout, info)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
