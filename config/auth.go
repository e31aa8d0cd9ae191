package config

import (
	"strings"
	"time"
)

// Auth is how people prove who they are: web sessions, and the directory
// that checks the passwords of users tana does not keep.
type Auth struct {
	Sessions Sessions `yaml:"sessions"`
	LDAP     *LDAP    `yaml:"ldap"`
}

// Sessions shape web sessions (defaults: idle_timeout 30m, lifetime 12h).
type Sessions struct {
	IdleTimeout Duration `yaml:"idle_timeout"`
	Lifetime    Duration `yaml:"lifetime"`
	// SecureCookie marks the session cookie Secure on plain-HTTP requests
	// too: for a server behind a proxy that terminates TLS.
	SecureCookie bool `yaml:"secure_cookie"`
}

// LDAP is the directory users log in against: tana binds as the user, its
// DN from BindDNTemplate or found by SearchFilter under SearchBase (as
// BindDN, its password in the environment variable BindPasswordEnv), and
// reads its groups under GroupBase.
type LDAP struct {
	URL             string   `yaml:"url"`
	StartTLS        bool     `yaml:"start_tls"`
	CAFile          string   `yaml:"ca_file"`
	Insecure        bool     `yaml:"insecure"`
	BindDNTemplate  string   `yaml:"bind_dn_template"`
	SearchBase      string   `yaml:"search_base"`
	SearchFilter    string   `yaml:"search_filter"`
	BindDN          string   `yaml:"bind_dn"`
	BindPasswordEnv string   `yaml:"bind_password_env"`
	GroupBase       string   `yaml:"group_base"`
	GroupFilter     string   `yaml:"group_filter"`
	GroupNameAttr   string   `yaml:"group_name_attr"`
	DisplayNameAttr string   `yaml:"display_name_attr"`
	CreateTeams     bool     `yaml:"create_teams"`
	Timeout         Duration `yaml:"timeout"`
}

// minIdle is the shortest idle timeout: a session's last request is
// written at most once a minute.
const minIdle = time.Minute

func (c *Config) checkAuth() []Problem {
	var ps []Problem
	s := c.Auth.Sessions
	if s.IdleTimeout != 0 && s.IdleTimeout.D() < minIdle {
		ps = append(ps, c.Problem("auth.sessions.idle_timeout", "%s is too short: at least 1m (default 30m)", s.IdleTimeout.D()))
	}
	if s.Lifetime != 0 && s.Lifetime.D() < minIdle {
		ps = append(ps, c.Problem("auth.sessions.lifetime", "%s is too short: at least 1m (default 12h)", s.Lifetime.D()))
	}
	if s.IdleTimeout != 0 && s.Lifetime != 0 && s.Lifetime < s.IdleTimeout {
		ps = append(ps, c.Problem("auth.sessions.lifetime", "%s is shorter than idle_timeout %s", s.Lifetime.D(), s.IdleTimeout.D()))
	}
	if c.Auth.LDAP != nil {
		ps = append(ps, c.checkLDAP(c.Auth.LDAP)...)
	}
	return ps
}

func (c *Config) checkLDAP(l *LDAP) []Problem {
	var ps []Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, c.Problem("auth.ldap."+field, format, args...))
	}
	switch {
	case l.URL == "":
		add("url", "missing (ldap://host or ldaps://host)")
	case !strings.HasPrefix(l.URL, "ldap://") && !strings.HasPrefix(l.URL, "ldaps://") || len(l.URL) <= len("ldaps://"):
		add("url", "want ldap://host[:port] or ldaps://host[:port], got %q", l.URL)
	case l.StartTLS && strings.HasPrefix(l.URL, "ldaps://"):
		add("start_tls", "an ldaps:// connection is encrypted already")
	}
	if l.Insecure && l.CAFile != "" {
		add("insecure", "set ca_file or insecure, not both")
	}
	switch {
	case l.BindDNTemplate == "" && l.SearchFilter == "":
		add("bind_dn_template", "set bind_dn_template, or search_base and search_filter, to find a user's DN")
	case l.BindDNTemplate != "" && l.SearchFilter != "":
		add("search_filter", "set bind_dn_template or search_filter, not both")
	case l.BindDNTemplate != "" && !strings.Contains(l.BindDNTemplate, "{user}"):
		add("bind_dn_template", "needs {user}, e.g. uid={user},ou=people,dc=example,dc=com")
	case l.SearchFilter != "" && !strings.Contains(l.SearchFilter, "{user}"):
		add("search_filter", "needs {user}, e.g. (uid={user})")
	case l.SearchFilter != "" && l.SearchBase == "":
		add("search_base", "a search needs a base DN")
	}
	if (l.BindDN == "") != (l.BindPasswordEnv == "") {
		add("bind_dn", "bind_dn and bind_password_env go together (the password is read from the environment)")
	}
	if l.GroupFilter != "" && !strings.Contains(l.GroupFilter, "{dn}") && !strings.Contains(l.GroupFilter, "{user}") {
		add("group_filter", "needs {dn} or {user}, e.g. (member={dn})")
	}
	if l.GroupFilter != "" && l.GroupBase == "" {
		add("group_base", "a group filter needs a base DN to search under")
	}
	if l.CreateTeams && l.GroupBase == "" {
		add("create_teams", "teams are made from groups: set group_base")
	}
	return ps
}
