package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
	"github.com/tana-cmdb/tana/server"
)

// by is the CLI's operator, for the audit log.
func (c *cli) by() inventory.By { return inventory.By{Actor: c.actor()} }

func newUserCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users: local (password kept hashed) or LDAP"}
	cmd.AddCommand(newUserAddCmd(c), newUserPasswdCmd(c), newUserSetCmd(c),
		newUserEnableCmd(c, "disable", true), newUserEnableCmd(c, "enable", false), newUserListCmd(c))
	return cmd
}

func newUserAddCmd(c *cli) *cobra.Command {
	var display, role string
	var teams []string
	var ldap, fromStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME [--display TEXT] [--role reader|writer|admin] [--team T]… [--ldap | --password-stdin]",
		Short: "Add a user; its password is asked for at the terminal (or read from stdin)",
		Long: `Add a user. A local user's password is asked for twice at the terminal, or read from
the first line of standard input with --password-stdin; it is never a flag. With --ldap
the user logs in against the directory (auth.ldap in tana.yaml) and tana keeps no
password: add one this way to give it a role or teams before its first login.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			ctx := cmd.Context()
			for _, t := range teams {
				if _, err := s.Team(ctx, t); err != nil {
					return fmt.Errorf("%w (add it first: tana team add %s)", err, t)
				}
			}
			u := inventory.User{Name: args[0], DisplayName: display, Role: role, Source: inventory.UserLDAP}
			if !ldap {
				pw, err := c.readPassword(cmd, fromStdin)
				if err != nil {
					return err
				}
				if u, err = access.NewLocalUser(args[0], display, role, pw); err != nil {
					return err
				}
			}
			if _, err := s.CreateUser(ctx, c.by(), u); err != nil {
				return err
			}
			for _, t := range teams {
				if err := s.AddTeamMember(ctx, c.by(), t, u.Name); err != nil {
					return fmt.Errorf("user %s added, but not to team %s: %w", u.Name, t, err)
				}
			}
			fmt.Fprintf(c.stdout, "added %s user %s\n", u.Source, u.Name)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&display, "display", "", "display name")
	f.StringVar(&role, "role", "", "built-in role on everything: reader, writer or admin (default none: grants only)")
	f.StringArrayVar(&teams, "team", nil, "team to join (repeat for several)")
	f.BoolVar(&ldap, "ldap", false, "the directory checks this user's password")
	f.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserPasswdCmd(c *cli) *cobra.Command {
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-stdin]",
		Short: "Set a local user's password (ends its web sessions)",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			u, err := s.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if u.Source != inventory.UserLocal {
				return schema.FieldErrorf(schema.EINVALID, "user", "%s logs in with LDAP: its password is the directory's", u.Name)
			}
			pw, err := c.readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			if err := access.CheckNewPassword(pw); err != nil {
				return err
			}
			hash, err := access.HashPassword(pw)
			if err != nil {
				return err
			}
			if _, err := s.ChangeUser(cmd.Context(), c.by(), u.Name, inventory.UserChange{PasswordHash: &hash}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "password of %s changed\n", u.Name)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserSetCmd(c *cli) *cobra.Command {
	var display, role string
	cmd := &cobra.Command{
		Use:   "set NAME [--role reader|writer|admin|none] [--display TEXT]",
		Short: "Change a user's built-in role or display name",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			var ch inventory.UserChange
			if cmd.Flags().Changed("role") {
				if role == "none" {
					role = ""
				}
				ch.Role = &role
			}
			if cmd.Flags().Changed("display") {
				ch.DisplayName = &display
			}
			if ch.Role == nil && ch.DisplayName == nil {
				return schema.Errorf(schema.EINVALID, "nothing to change: give --role or --display")
			}
			u, err := s.ChangeUser(cmd.Context(), c.by(), args[0], ch)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "changed %s\n", u.Name)
			return nil
		}),
	}
	cmd.Flags().StringVar(&role, "role", "", "reader, writer, admin, or none")
	cmd.Flags().StringVar(&display, "display", "", "display name")
	return cmd
}

func newUserEnableCmd(c *cli, verb string, disable bool) *cobra.Command {
	short := "Let a disabled user log in again"
	if disable {
		short = "Stop a user logging in: ends its sessions; its tokens stop working while it is disabled"
	}
	return &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			if _, err := s.ChangeUser(cmd.Context(), c.by(), args[0], inventory.UserChange{Disabled: &disable}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%sd %s\n", verb, args[0])
			return nil
		}),
	}
}

func newUserListCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users, their roles and teams",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			us, err := s.Users(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(us)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tSOURCE\tROLE\tTEAMS\tSTATE\tDISPLAY NAME")
			for _, u := range us {
				state := "enabled"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Source, dash(u.Role), dash(strings.Join(u.Teams, ",")), state, u.DisplayName)
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readPassword asks for a password twice at the terminal, or reads the
// first line of stdin.
func (c *cli) readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	in := cmd.InOrStdin()
	if fromStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", schema.FieldErrorf(schema.EINVALID, "password", "no terminal to ask for the password on: pipe it in with --password-stdin")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(c.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		return string(b), nil
	}
	pw, err := ask("Password: ")
	if err != nil {
		return "", err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", schema.FieldErrorf(schema.EINVALID, "password", "the two passwords differ")
	}
	return pw, nil
}

func newTeamCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "team", Short: "Manage teams: groups of users that permissions are granted to"}
	member := &cobra.Command{Use: "member", Short: "Add users to teams and remove them"}
	member.AddCommand(newTeamMemberCmd(c, "add"), newTeamMemberCmd(c, "remove"))
	cmd.AddCommand(newTeamAddCmd(c), member, newTeamListCmd(c))
	return cmd
}

func newTeamAddCmd(c *cli) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "add NAME [--ldap-group DN]",
		Short: "Add a team; with --ldap-group, the members of that directory group belong to it",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			if _, err := s.CreateTeam(cmd.Context(), c.by(), inventory.Team{Name: args[0], LDAPGroup: group}); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "added team %s\n", args[0])
			return nil
		}),
	}
	cmd.Flags().StringVar(&group, "ldap-group", "", "DN of the LDAP group whose members are in the team (as of their last login)")
	return cmd
}

func newTeamMemberCmd(c *cli, verb string) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " TEAM USER",
		Short: map[string]string{"add": "Make a user a member of a team", "remove": "Take a user out of a team"}[verb],
		Args:  cobra.ExactArgs(2),
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, args []string) error {
			change := s.AddTeamMember
			if verb == "remove" {
				change = s.RemoveTeamMember
			}
			if err := change(cmd.Context(), c.by(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: %s %s\n", args[0], map[string]string{"add": "added", "remove": "removed"}[verb], args[1])
			return nil
		}),
	}
}

func newTeamListCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List teams and their members",
		Args:  cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			ts, err := s.Teams(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(ts)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tMEMBERS\tLDAP GROUP")
			for _, t := range ts {
				fmt.Fprintf(w, "%s\t%s\t%s\n", t.Name, dash(strings.Join(t.Members, ",")), dash(t.LDAPGroup))
			}
			return w.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAuditCmd(c *cli) *cobra.Command {
	var since, actor, action string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--since 24h] [--actor A] [--action login] [--json]",
		Short: "Show the audit log: logins, logouts, user, team, token and grant changes, token use",
		Long: `Show the audit log, newest first. A token's use is recorded the first time it comes
from an address, and again an hour after its last recorded use (not on every request).`,
		Args: cobra.NoArgs,
		RunE: c.withStore(func(cmd *cobra.Command, s *inventory.Store, _ []string) error {
			f := inventory.AuditFilter{Actor: actor, Action: action, Limit: limit}
			if since != "" {
				t, err := server.ParseSince(since, time.Now())
				if err != nil {
					return err
				}
				f.Since = t
			}
			rs, err := s.Audits(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(c.stdout).Encode(rs)
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "AT\tACTOR\tACTION\tTARGET\tRESULT\tFROM\tDETAIL")
			for _, r := range rs {
				result := "ok"
				if !r.Success {
					result = "FAILED"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Format("2006-01-02 15:04:05Z"), r.Actor, r.Action, dash(r.Target), result, dash(r.RemoteAddr), r.Detail)
			}
			return w.Flush()
		}),
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "24h", "only records at or after this: an age (24h, 7d) or an RFC 3339 time; \"\" for all")
	f.StringVar(&actor, "actor", "", "only this actor's records")
	f.StringVar(&action, "action", "", "only this action (login, logout, token.use, user.add, grant, …)")
	f.IntVar(&limit, "limit", 100, fmt.Sprintf("at most this many records (up to %d)", inventory.MaxAuditPage))
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
