package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ksefpl/ksefpl/pkg/config"
	"github.com/ksefpl/ksefpl/pkg/store"
	"github.com/spf13/cobra"
)

func newWebsiteCreateCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "store:website:create CODE",
		Short: "Create a website (a legal entity with its own NIP and token) and its store view",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := args[0]
			if !config.ValidScopeCode(code) {
				return withCode(exitInvalid, errors.New(config.ScopeCodeRule))
			}
			if name == "" {
				name = code
			}
			h, err := a.home(cmd.Context())
			if err != nil {
				return err
			}
			w, err := h.DB.CreateWebsite(cmd.Context(), code, name)
			if errors.Is(err, store.ErrDuplicate) {
				return withCode(exitInvalid, fmt.Errorf("website %q already exists: choose another code", code))
			}
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.io.Out, w)
			}
			fmt.Fprintf(a.io.Out, "Website %q was created (id %d).\n", w.Code, w.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "display name (default: the code)")
	return cmd
}

func newWebsiteListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "store:website:list",
		Short: "List websites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.home(cmd.Context())
			if err != nil {
				return err
			}
			ws, err := h.DB.Websites(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.io.Out, ws)
			}
			rows := make([][]string, 0, len(ws))
			for _, w := range ws {
				def := ""
				if w.IsDefault {
					def = "yes"
				}
				rows = append(rows, []string{strconv.FormatInt(w.ID, 10), w.Code, w.Name, def})
			}
			return writeTable(a.io.Out, []string{"ID", "Code", "Name", "Default"}, rows)
		},
	}
}
