package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tana-cmdb/tana/schema"
)

// cronParser reads cron as reconcile's scheduler does: five fields, six
// with seconds first, or descriptors (@hourly, @every 10m).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Check returns what is wrong with the configuration on its own, without
// the entity types, the environment or the database: missing and unknown
// values, bad URLs, cron expressions and limits. CheckTypes adds the
// references to entity types.
func (c *Config) Check() []Problem {
	var ps []Problem
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			ps = append(ps, c.Problem("listen", "want host:port, got %q", c.Listen))
		}
	}
	ps = append(ps, c.checkSources()...)
	ps = append(ps, c.checkSchedules()...)
	ps = append(ps, c.checkPolicies()...)
	ps = append(ps, c.checkServer()...)
	ps = append(ps, c.checkAuth()...)
	ps = append(ps, c.checkEvents()...)
	if c.DB.MaxConns < 0 {
		ps = append(ps, c.Problem("db.max_conns", "want at least 1 connection, got %d", c.DB.MaxConns))
	}
	if c.Lease != 0 && c.Lease.D() < time.Second {
		ps = append(ps, c.Problem("lease", "%s is too short: at least 1s (default 15s)", c.Lease.D()))
	}
	return ps
}

// checkName checks the name of the list item at f: given, well formed
// (bad, if set, says what is wrong with it), and not one of names, to
// which it is added.
func (c *Config) checkName(names map[string]bool, f, kind, name string, bad func(string) string) []Problem {
	why := ""
	switch {
	case name == "":
		why = "missing"
	case bad != nil && bad(name) != "":
		why = bad(name)
	case names[name]:
		why = fmt.Sprintf("%s %q defined twice", kind, name)
	}
	names[name] = true
	if why == "" {
		return nil
	}
	return []Problem{c.Problem(f+".name", "%s", why)}
}

func (c *Config) checkSources() []Problem {
	var ps []Problem
	names := map[string]bool{}
	for i, s := range c.Sources {
		f := fmt.Sprintf("sources[%d]", i)
		ps = append(ps, c.checkName(names, f, "source", s.Name, nil)...)
		switch s.Type {
		case "vsphere":
			ps = append(ps, c.checkVSphere(f, s)...)
		case "dns":
			ps = append(ps, c.checkDNS(f, s)...)
		default:
			ps = append(ps, c.Problem(f+".type", "unknown source type %q (want vsphere or dns)", s.Type))
		}
	}
	return ps
}

func (c *Config) checkVSphere(f string, s Source) []Problem {
	if s.URL == "" {
		return []Problem{c.Problem(f+".url", "a vsphere source needs url")}
	}
	u := s.URL
	if !strings.Contains(u, "://") {
		u = "https://" + u // as govmomi reads it
	}
	if err := checkHTTPURL(u); err != nil {
		return []Problem{c.Problem(f+".url", "not a URL of a vCenter: %q (e.g. https://vcenter.example.com/sdk)", s.URL)}
	}
	return nil
}

func (c *Config) checkDNS(f string, s Source) []Problem {
	var ps []Problem
	if s.Server == "" {
		ps = append(ps, c.Problem(f+".server", "a dns source needs server"))
	}
	if len(s.Zones) == 0 {
		ps = append(ps, c.Problem(f+".zones", "a dns source needs zones"))
	}
	for j, z := range s.Zones {
		if _, err := schema.NormalizeFQDN(z); err != nil {
			ps = append(ps, c.Problem(fmt.Sprintf("%s.zones[%d]", f, j), "%v", err))
		}
	}
	if s.TSIG != nil && s.TSIG.Name == "" {
		ps = append(ps, c.Problem(f+".tsig.name", "a TSIG key needs a name"))
	}
	return ps
}

func (c *Config) checkSchedules() []Problem {
	var ps []Problem
	sources := map[string]bool{}
	for _, s := range c.Sources {
		sources[s.Name] = true
	}
	names := map[string]bool{}
	for i, s := range c.Schedules {
		f := fmt.Sprintf("schedules[%d]", i)
		ps = append(ps, c.checkName(names, f, "schedule", s.Name, nil)...)
		if s.Cron == "" {
			ps = append(ps, c.Problem(f+".cron", "missing"))
		} else if _, err := cronParser.Parse(s.Cron); err != nil {
			ps = append(ps, c.Problem(f+".cron", "bad cron expression %q: %v", s.Cron, err))
		}
		for j, n := range s.Collect {
			if !sources[n] {
				ps = append(ps, c.Problem(fmt.Sprintf("%s.collect[%d]", f, j), "unknown source %q", n))
			}
		}
		if r := s.Report; r != nil && r.Webhook != "" {
			if err := checkHTTPURL(r.Webhook); err != nil {
				ps = append(ps, c.Problem(f+".report.webhook", "%v", err))
			}
		}
		if r := s.Report; r != nil && r.OnlyOnChange && r.Webhook == "" {
			ps = append(ps, c.Problem(f+".report.only_on_change", "needs report.webhook: only a posted report can be held back"))
		}
	}
	return ps
}

func (c *Config) checkPolicies() []Problem {
	var ps []Problem
	for _, t := range slices.Sorted(maps.Keys(c.Policies)) {
		p, f := c.Policies[t], "policies."+t
		if p.Observed != "" && p.Observed != "apply" && p.Observed != "propose" {
			ps = append(ps, c.Problem(f+".observed", "want apply or propose, got %q", p.Observed))
		}
		if p.Declared != "" && p.Declared != "apply" && p.Declared != "propose" && p.Declared != "ignore" {
			ps = append(ps, c.Problem(f+".declared", "want propose, apply or ignore, got %q", p.Declared))
		}
		if p.MaxDeletes < 0 {
			ps = append(ps, c.Problem(f+".max_deletes", "must not be negative, got %d", p.MaxDeletes))
		}
		if p.MaxChangePercent < 0 || p.MaxChangePercent > 100 {
			ps = append(ps, c.Problem(f+".max_change_percent", "want 0 to 100, got %v", p.MaxChangePercent))
		}
	}
	return ps
}

// checkServer refuses negative limits: 0 means the default, and a negative
// one used to be taken as 0 without a word.
func (c *Config) checkServer() []Problem {
	var ps []Problem
	for _, l := range []struct {
		field string
		v     int64
	}{
		{"max_depth", int64(c.Server.MaxDepth)},
		{"max_complexity", int64(c.Server.MaxComplexity)},
		{"max_page_size", int64(c.Server.MaxPageSize)},
		{"max_body_bytes", c.Server.MaxBodyBytes},
	} {
		if l.v < 0 {
			ps = append(ps, c.Problem("server."+l.field, "must not be negative (0 or absent: the default), got %d", l.v))
		}
	}
	for i, p := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			ps = append(ps, c.Problem(fmt.Sprintf("server.trusted_proxies[%d]", i), "want a CIDR such as 10.0.0.0/8 or 192.0.2.10/32, got %q", p))
		}
	}
	return ps
}

// CheckTypes returns the configuration's references to entity types that
// reg does not have. (The Ansible section is checked by ansible.Check,
// which knows its attribute paths.)
func (c *Config) CheckTypes(reg *schema.Registry) []Problem {
	var ps []Problem
	for _, t := range slices.Sorted(maps.Keys(c.Policies)) {
		if _, err := reg.Type(t); err != nil {
			ps = append(ps, c.Problem("policies."+t, "unknown entity type %q", t))
		}
	}
	return ps
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %q", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("not an http(s) URL with a host: %q", s)
	}
	return nil
}
