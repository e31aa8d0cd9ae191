package access

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/tana-cmdb/tana/inventory"
)

// LDAPConfig is how tana checks passwords against a directory: it binds
// as the user (whose DN comes from BindDNTemplate, or from a search with
// SearchFilter under SearchBase, as BindDN when set) and reads the user's
// groups under GroupBase with GroupFilter.
type LDAPConfig struct {
	// URL is ldap://host[:389] or ldaps://host[:636].
	URL string
	// StartTLS upgrades an ldap:// connection before anything is sent.
	StartTLS bool
	// TLS verifies the server for ldaps:// and StartTLS (nil: the
	// system's roots, ServerName from the URL).
	TLS *tls.Config
	// BindDNTemplate is the user's DN with {user} for the login name,
	// e.g. uid={user},ou=people,dc=example,dc=com.
	BindDNTemplate string
	// SearchBase and SearchFilter find the user's DN instead, e.g.
	// (uid={user}); the search binds as BindDN/BindPassword when set,
	// anonymously when not.
	SearchBase   string
	SearchFilter string
	BindDN       string
	BindPassword string
	// GroupBase and GroupFilter find the user's groups; the filter has
	// {dn} (the user's DN) and {user}, e.g. (member={dn}). No GroupBase:
	// no groups.
	GroupBase   string
	GroupFilter string
	// GroupNameAttr names a group (default cn): the name of the team
	// CreateTeams makes for it.
	GroupNameAttr string
	// DisplayNameAttr is the user's display name (default displayName,
	// falling back to cn).
	DisplayNameAttr string
	// CreateTeams makes a team for every group of a user that no team
	// maps yet (named after the group, unless that name is taken).
	CreateTeams bool
	// Timeout bounds connecting and each operation (default 10s).
	Timeout time.Duration
}

// ldapUser is what a successful directory login found.
type ldapUser struct {
	DN          string
	DisplayName string
	Groups      []inventory.LDAPGroup
}

// Directory failures, told apart for the audit log.
var (
	// errLDAPCredentials: the directory refused the password.
	errLDAPCredentials = errors.New("the directory refused the credentials")
	// errLDAPNoUser: the search found no user of that name.
	errLDAPNoUser = errors.New("the directory has no such user")
)

const defaultLDAPTimeout = 10 * time.Second

// authenticate binds as user with password and reads the user's display
// name and groups. Errors other than errLDAPCredentials and errLDAPNoUser
// mean the directory could not answer.
func (c *LDAPConfig) authenticate(ctx context.Context, user, password string) (*ldapUser, error) {
	if password == "" {
		// An empty password is an unauthenticated bind, which succeeds.
		return nil, errLDAPCredentials
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConn(conn)
	// go-ldap takes no context: closing the connection stops what runs.
	stop := context.AfterFunc(ctx, func() { closeConn(conn) })
	defer stop()
	dn, err := c.userDN(conn, user)
	if err != nil {
		return nil, err
	}
	if err := conn.Bind(dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, c.whyRefused(conn, dn)
		}
		return nil, fmt.Errorf("bind as %s: %w", dn, err)
	}
	u := &ldapUser{DN: dn}
	if u.DisplayName, err = c.displayName(conn, dn); err != nil {
		return nil, err
	}
	if c.BindDN != "" {
		// Groups are read as the service account, as the search was.
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return nil, fmt.Errorf("bind as %s to read groups: %w", c.BindDN, err)
		}
	}
	if u.Groups, err = c.groups(conn, user, dn); err != nil {
		return nil, err
	}
	return u, nil
}

func (c *LDAPConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultLDAPTimeout
}

// dial connects, with TLS as configured.
func (c *LDAPConfig) dial(ctx context.Context) (*ldap.Conn, error) {
	d := &net.Dialer{Timeout: c.timeout()}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d)}
	if c.TLS != nil {
		opts = append(opts, ldap.DialWithTLSConfig(c.TLS))
	}
	conn, err := ldap.DialURL(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.URL, err)
	}
	conn.SetTimeout(c.timeout())
	if c.StartTLS {
		cfg := c.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: hostOf(c.URL), MinVersion: tls.VersionTLS12}
		}
		if err := conn.StartTLS(cfg); err != nil {
			closeConn(conn)
			return nil, fmt.Errorf("StartTLS with %s: %w", c.URL, err)
		}
	}
	return conn, nil
}

// closeConn ends a connection that only read: its close has nothing to
// lose, and its error (closed already, by ctx or by StartTLS failing) no
// one to tell.
func closeConn(conn *ldap.Conn) { _ = conn.Close() }

func hostOf(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Hostname()
}

// userDN is the DN to bind as: the template filled in, or the one entry
// the search finds.
func (c *LDAPConfig) userDN(conn *ldap.Conn, user string) (string, error) {
	if c.BindDNTemplate != "" {
		return strings.ReplaceAll(c.BindDNTemplate, "{user}", ldap.EscapeDN(user)), nil
	}
	if c.BindDN != "" {
		if err := conn.Bind(c.BindDN, c.BindPassword); err != nil {
			return "", fmt.Errorf("bind as %s to find users: %w", c.BindDN, err)
		}
	}
	filter := strings.ReplaceAll(c.SearchFilter, "{user}", ldap.EscapeFilter(user))
	res, err := conn.Search(ldap.NewSearchRequest(c.SearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(c.timeout()/time.Second), false,
		filter, []string{"1.1"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return "", fmt.Errorf("search %s for %s: %w", c.SearchBase, filter, err)
	}
	switch {
	case res == nil || len(res.Entries) == 0:
		return "", errLDAPNoUser
	case len(res.Entries) > 1:
		return "", fmt.Errorf("search %s for %s found more than one user: refusing to guess", c.SearchBase, filter)
	}
	return res.Entries[0].DN, nil
}

// whyRefused tells a wrong password from a templated DN that names no
// entry (directories refuse both binds alike), for the audit log. When it
// cannot tell, the password was wrong.
func (c *LDAPConfig) whyRefused(conn *ldap.Conn, dn string) error {
	if c.BindDNTemplate == "" {
		return errLDAPCredentials // the search found the entry
	}
	if c.BindDN != "" && conn.Bind(c.BindDN, c.BindPassword) != nil {
		return errLDAPCredentials
	}
	_, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(c.timeout()/time.Second), false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return errLDAPNoUser
	}
	return errLDAPCredentials
}

// displayName reads the user's display name from its own entry.
func (c *LDAPConfig) displayName(conn *ldap.Conn, dn string) (string, error) {
	attrs := []string{"displayName", "cn"}
	if c.DisplayNameAttr != "" {
		attrs = []string{c.DisplayNameAttr}
	}
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(c.timeout()/time.Second), false,
		"(objectClass=*)", attrs, nil))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", dn, err)
	}
	if len(res.Entries) == 0 {
		return "", nil
	}
	for _, a := range attrs {
		if v := res.Entries[0].GetAttributeValue(a); v != "" {
			return v, nil
		}
	}
	return "", nil
}

// maxGroups bounds the groups read for one user.
const maxGroups = 1000

// groups returns the groups the user is a member of.
func (c *LDAPConfig) groups(conn *ldap.Conn, user, dn string) ([]inventory.LDAPGroup, error) {
	if c.GroupBase == "" {
		return nil, nil
	}
	nameAttr := c.GroupNameAttr
	if nameAttr == "" {
		nameAttr = "cn"
	}
	filter := strings.NewReplacer("{dn}", ldap.EscapeFilter(dn), "{user}", ldap.EscapeFilter(user)).Replace(c.groupFilter())
	res, err := conn.Search(ldap.NewSearchRequest(c.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, maxGroups, int(c.timeout()/time.Second), false,
		filter, []string{nameAttr}, nil))
	if err != nil {
		return nil, fmt.Errorf("search %s for groups of %s: %w", c.GroupBase, dn, err)
	}
	out := make([]inventory.LDAPGroup, 0, len(res.Entries))
	for _, e := range res.Entries {
		out = append(out, inventory.LDAPGroup{DN: e.DN, Name: e.GetAttributeValue(nameAttr)})
	}
	return out, nil
}

func (c *LDAPConfig) groupFilter() string {
	if c.GroupFilter != "" {
		return c.GroupFilter
	}
	return "(member={dn})"
}
