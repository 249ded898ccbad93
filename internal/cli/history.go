package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferry-gitops/ferry/internal/history"
	"github.com/ferry-gitops/ferry/internal/store"
)

func newHistoryCmd(s Streams, _ func() *slog.Logger) *cobra.Command {
	var app, repo, dataDir, databaseURL, format string
	var audit bool
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Show an environment's syncs (or its audit log) from ferry's store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, "data-dir", "database-url"); err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			db, err := store.Open(cmd.Context(), cmp.Or(databaseURL, filepath.Join(dataDir, "ferry.db")))
			if err != nil {
				return &codedError{code: exitFailure, err: err}
			}
			defer db.Close()
			var v any
			if audit {
				events, err := db.Audit(cmd.Context(), repo, app)
				if err != nil {
					return &codedError{code: exitFailure, err: err}
				}
				if format == "text" {
					for _, e := range events {
						fmt.Fprintf(s.Out, "%s  %-12s %-8s %-14s %s %s\n", e.Time.Format("2006-01-02T15:04:05Z"), e.Environment, e.Kind, e.Actor, short(e.Revision), e.Detail)
					}
					return nil
				}
				v = events
			} else {
				syncs, err := db.Syncs(cmd.Context(), repo, app)
				if err != nil {
					return &codedError{code: exitFailure, err: err}
				}
				if format == "text" {
					return history.WriteTable(s.Out, syncs)
				}
				v = syncs
			}
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		},
	}
	cmd.Flags().StringVar(&app, "app", "", "environment name")
	cmd.Flags().StringVar(&repo, "repo", "", "the repository (owner/name) whose environment it is; empty: every repository's")
	cmd.Flags().StringVar(&dataDir, "data-dir", "./.ferry-data", "ferry's data directory (FERRY_DATA_DIR)")
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "the PostgreSQL database of replicas (postgres://...); empty: SQLite in --data-dir (FERRY_DATABASE_URL)")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().BoolVar(&audit, "audit", false, "show the append-only audit log instead (all environments without --app)")
	return cmd
}
