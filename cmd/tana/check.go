package main

import (
	"cmp"
	"fmt"
	"net"
	"slices"

	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/inventory/ansible"
	"github.com/tana-cmdb/tana/reconcile"
	"github.com/tana-cmdb/tana/schema"
)

// Configuration is checked in full before anything touches the database,
// and every problem is reported at once: the file on its own (package
// config), the entity types and every reference to them, what the
// packages the file configures accept (report formats, TSIG algorithms,
// the Ansible section), and — for the commands that use them — the
// sources' secrets and the address to serve. Only whether an existing
// database holds API tokens needs the database; serve checks it right
// after opening (see checkListen).

// check is a check a command adds because of what it will use.
type check func(cfg *config.Config) []config.Problem

// load reads the configuration, applies TANA_DB and --db over it, loads the
// entity types and runs every check; it fails with all problems at once.
func (c *cli) load(checks ...check) (*config.Config, *schema.Registry, error) {
	cfg, ps, err := c.readConfig()
	if err != nil {
		return nil, nil, err
	}
	reg, err := schema.Load(cfg.Types)
	if err != nil {
		ps = append(ps, config.Problem{Line: cfg.Line("types"), Field: "types", Message: err.Error()})
	} else {
		ps = append(ps, c.checkTypes(cfg, reg)...)
	}
	ps = append(ps, checkFormats(cfg)...)
	ps = append(ps, checkTSIG(cfg)...)
	for _, ch := range checks {
		ps = append(ps, ch(cfg)...)
	}
	if err := cfg.Err(ps); err != nil {
		return nil, nil, err
	}
	return cfg, reg, nil
}

// checkTypes checks the configuration's references to types and
// attributes: policies, and the Ansible section as ansible.New compiles it.
func (c *cli) checkTypes(cfg *config.Config, reg *schema.Registry) []config.Problem {
	ps := cfg.CheckTypes(reg)
	for _, err := range ansible.Check(reg, c.ansibleOptions(cfg.Ansible)) {
		ps = append(ps, cfg.ProblemOf("ansible", err))
	}
	return ps
}

// checkFormats refuses report formats reconcile cannot render.
func checkFormats(cfg *config.Config) []config.Problem {
	var ps []config.Problem
	for i, s := range cfg.Schedules {
		if s.Report == nil {
			continue
		}
		for j, f := range s.Report.Formats {
			if !slices.Contains(reconcile.Formats, f) {
				ps = append(ps, cfg.Problem(fmt.Sprintf("schedules[%d].report.formats[%d]", i, j), "unknown report format %q (want one of %v)", f, reconcile.Formats))
			}
		}
	}
	return ps
}

// checkTSIG refuses TSIG algorithms the DNS collector cannot sign with.
func checkTSIG(cfg *config.Config) []config.Problem {
	var ps []config.Problem
	for i, s := range cfg.Sources {
		if s.Type != "dns" || s.TSIG == nil {
			continue
		}
		if err := dns.CheckAlgorithm(s.TSIG.Algorithm); err != nil {
			ps = append(ps, cfg.ProblemOf(fmt.Sprintf("sources[%d].tsig.algorithm", i), err))
		}
	}
	return ps
}

// checkSources is the check of commands that use every source (collect,
// apply, serve): each secret's environment variable is set, and each
// source builds.
func (c *cli) checkSources(cfg *config.Config) []config.Problem {
	var ps []config.Problem
	for i, s := range cfg.Sources {
		f := fmt.Sprintf("sources[%d]", i)
		before := len(ps)
		ps = append(ps, secretProblem(cfg, f+".password_env", s.PasswordEnv)...)
		if s.TSIG != nil {
			ps = append(ps, secretProblem(cfg, f+".tsig.secret_env", s.TSIG.SecretEnv)...)
		}
		if len(ps) > before {
			continue // building it would only repeat the missing secret
		}
		if _, err := c.buildSource(&cfg.Sources[i]); err != nil {
			ps = append(ps, cfg.ProblemOf(f, err))
		}
	}
	return ps
}

// checkSchedules is serve's check of the schedules: their webhooks' signing
// secrets are set.
func checkSchedules(cfg *config.Config) []config.Problem {
	var ps []config.Problem
	for i, s := range cfg.Schedules {
		if s.Report != nil && s.Report.Webhook != "" {
			ps = append(ps, secretProblem(cfg, fmt.Sprintf("schedules[%d].report.secret_env", i), s.Report.SecretEnv)...)
		}
	}
	return ps
}

func secretProblem(cfg *config.Config, field, env string) []config.Problem {
	if _, err := config.Secret(field, env); err != nil {
		return []config.Problem{cfg.ProblemOf("", err)}
	}
	return nil
}

// checkListen is serve's check of the address: a server open to the
// network needs API tokens, and a SQLite database that does not exist yet
// has none — so that is refused before the file is created. Whether an
// existing database has tokens is known only once it is open: the server
// checks that before it listens.
func checkListen(listen string) check {
	return func(cfg *config.Config) []config.Problem {
		addr := cmp.Or(listen, cfg.Listen)
		if cfg.Server.AllowOpenNonLoop || !exposed(addr) || !inventory.NewDatabase(cfg.DB.URL) {
			return nil
		}
		return []config.Problem{cfg.Problem("listen", "refusing to serve non-loopback %s from a new database: it has no API tokens yet; create one first (tana token create --role admin) or set server.allow_open_non_loopback", addr)}
	}
}

// exposed reports whether listening on addr is known to reach beyond
// loopback (an unspecified or non-loopback address). A host name other
// than localhost is left to the check on the bound address.
func exposed(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "localhost" {
		return false
	}
	if host == "" {
		return true // all interfaces
	}
	ip := net.ParseIP(host)
	return ip != nil && !ip.IsLoopback()
}
