package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/config"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// authenticator wires tana.yaml's auth section onto package access.
func (c *cli) authenticator(cfg *config.Config, s *inventory.Store) (*access.Authenticator, error) {
	l, err := ldapConfig(cfg.Auth.LDAP)
	if err != nil {
		return nil, err
	}
	ss := cfg.Auth.Sessions
	return access.New(access.Options{
		Store: s, LDAP: l, Logger: c.logger(),
		Sessions: access.SessionOptions{Idle: ss.IdleTimeout.D(), Lifetime: ss.Lifetime.D(), SecureCookie: ss.SecureCookie},
	})
}

// ldapConfig maps auth.ldap onto access, reading the service account's
// password from the environment and the CA file from disk; nil for none.
func ldapConfig(l *config.LDAP) (*access.LDAPConfig, error) {
	if l == nil {
		return nil, nil
	}
	pw, err := config.Secret("auth.ldap.bind_password_env", l.BindPasswordEnv)
	if err != nil {
		return nil, err
	}
	out := &access.LDAPConfig{
		URL: l.URL, StartTLS: l.StartTLS, BindDNTemplate: l.BindDNTemplate,
		SearchBase: l.SearchBase, SearchFilter: l.SearchFilter, BindDN: l.BindDN, BindPassword: pw,
		GroupBase: l.GroupBase, GroupFilter: l.GroupFilter, GroupNameAttr: l.GroupNameAttr,
		DisplayNameAttr: l.DisplayNameAttr, CreateTeams: l.CreateTeams, Timeout: l.Timeout.D(),
	}
	if l.CAFile != "" || l.Insecure {
		out.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: l.Insecure} // insecure only when tana.yaml says so
		if l.CAFile != "" {
			pem, err := os.ReadFile(l.CAFile)
			if err != nil {
				return nil, schema.FieldErrorf(schema.EINVALID, "auth.ldap.ca_file", "%v", err)
			}
			out.TLS.RootCAs = x509.NewCertPool()
			if !out.TLS.RootCAs.AppendCertsFromPEM(pem) {
				return nil, schema.FieldErrorf(schema.EINVALID, "auth.ldap.ca_file", "no PEM certificate in %s", l.CAFile)
			}
		}
		out.TLS.ServerName = ldapHost(l.URL)
	}
	return out, nil
}

// ldapHost is the host of an ldap:// or ldaps:// URL, for certificate
// verification.
func ldapHost(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Hostname()
}

// checkAuth is serve's check of auth.ldap: the service account's password
// is in the environment and the CA file reads.
func checkAuth(cfg *config.Config) []config.Problem {
	if cfg.Auth.LDAP == nil {
		return nil
	}
	if ps := secretProblem(cfg, "auth.ldap.bind_password_env", cfg.Auth.LDAP.BindPasswordEnv); ps != nil {
		return ps
	}
	if _, err := ldapConfig(cfg.Auth.LDAP); err != nil {
		return []config.Problem{cfg.ProblemOf("", err)}
	}
	return nil
}
