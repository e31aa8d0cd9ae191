package access

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// Options configure an Authenticator. Store is required.
type Options struct {
	Store *inventory.Store
	// LDAP checks the passwords of users that tana does not keep; nil:
	// local users only.
	LDAP     *LDAPConfig
	Sessions SessionOptions
	Logger   *slog.Logger
}

// Authenticator turns credentials — a token, a user's password, a
// session cookie — into a Principal, and records logins, logouts and
// token use in the audit log. Its clock is the store's.
type Authenticator struct {
	store *inventory.Store
	ldap  *LDAPConfig
	sess  SessionOptions
	log   *slog.Logger
	// dummy is a hash checked for unknown users, so that a login takes
	// as long whether or not the user exists.
	dummy string
	// hashing bounds the password checks that run at once: each takes
	// 19 MiB, and a flood of logins must not take the server's memory.
	hashing chan struct{}
	// inHash counts the checks running, for tests.
	inHash atomic.Int32
	// perAddr serialises the logins of an address (by stripe), so the
	// throttle's count sees each before the next is checked.
	perAddr [64]sync.Mutex
}

// addrStripe picks an address's lock.
func addrStripe(addr string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(addr))
	return int(h.Sum32() % 64)
}

// maxHashing is how many password checks run at once; more wait.
const maxHashing = 4

// New returns an Authenticator.
func New(opts Options) (*Authenticator, error) {
	if opts.Store == nil {
		return nil, errors.New("access: no store")
	}
	dummy, err := HashPassword("not a password of anyone")
	if err != nil {
		return nil, err
	}
	a := &Authenticator{store: opts.Store, ldap: opts.LDAP, sess: opts.Sessions.withDefaults(), log: opts.Logger, dummy: dummy,
		hashing: make(chan struct{}, maxHashing)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Store returns the store the authenticator reads.
func (a *Authenticator) Store() *inventory.Store { return a.store }

// Open reports whether the store holds no credentials at all (no token,
// no user): a loopback server then serves everyone as before.
func (a *Authenticator) Open(ctx context.Context) (bool, error) {
	has, err := a.store.HasCredentials(ctx)
	return !has, err
}

// Token returns the principal of an API token, and audits its use from
// addr by the rule of inventory.TokenAuditInterval.
func (a *Authenticator) Token(ctx context.Context, secret, addr string) (*Principal, error) {
	t, err := a.store.Authenticate(ctx, secret)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.NoteTokenUse(ctx, t, addr); err != nil {
		// The request is authenticated; a busy store must not refuse it.
		a.log.WarnContext(ctx, "audit token use", "token", t.Name, "err", err)
	}
	p := &Principal{Kind: "token", Name: t.Name, Role: t.Role, User: t.User, Source: "token"}
	switch {
	case t.User != "":
		if p.Teams, err = a.store.UserTeams(ctx, t.User); err != nil {
			return nil, err
		}
	case t.Team != "":
		p.Teams = []string{t.Team}
	}
	return p, nil
}

// Why a login failed, as the audit log says it.
const (
	ReasonWrongPassword = "wrong password"
	ReasonUnknownUser   = "unknown user"
	ReasonDisabled      = "disabled"
	ReasonNoPassword    = "no password set"
	ReasonLDAPError     = "ldap error"
	ReasonThrottled     = "throttled"
)

// Login throttling: after this many refused logins from one address in
// ThrottleWindow — for one user name, or for any — that address is
// refused without a password check until the window has passed. Counted
// from the audit log, so every replica sees the same count.
const (
	ThrottleWindow   = 15 * time.Minute
	MaxFailedPerUser = 10
	MaxFailedPerAddr = 50
)

// LoginError is a refused login. Reason is what the audit log records;
// the error itself is what the person is told, which does not say whether
// the user exists.
type LoginError struct {
	Reason string
	Err    *schema.Error
}

func (e *LoginError) Error() string { return e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

func refused(reason string) *LoginError {
	switch reason {
	case ReasonDisabled:
		return &LoginError{reason, schema.Errorf(schema.EFORBIDDEN, "this user is disabled: ask an administrator")}
	case ReasonLDAPError:
		return &LoginError{reason, schema.Errorf(schema.EINTERNAL, "the directory (LDAP) could not be asked: try again later, or ask an administrator")}
	case ReasonThrottled:
		return &LoginError{reason, schema.Errorf(schema.EFORBIDDEN, "too many failed logins from this address: try again in %v", ThrottleWindow)}
	}
	return &LoginError{reason, schema.Errorf(schema.EUNAUTHORIZED, "wrong user name or password")}
}

// Login checks a user's password — tana's own hash for a local user, a
// bind to the directory otherwise — and returns the user's principal. A
// directory login creates the user on first sight (source ldap) and
// brings its teams in step with its groups. Every attempt, good or bad,
// is audited with its reason.
func (a *Authenticator) Login(ctx context.Context, name, password, addr string) (*Principal, error) {
	if addr != "" {
		// One login at a time per address (in this process), counted,
		// checked and audited: logins sent together would otherwise all
		// read the throttle's count before any is audited.
		mu := &a.perAddr[addrStripe(addr)]
		mu.Lock()
		defer mu.Unlock()
	}
	p, detail, err := a.login(ctx, name, password, addr)
	rec := inventory.AuditRecord{Actor: name, Action: inventory.AuditLogin, Target: name, RemoteAddr: addr, Success: err == nil, Detail: detail}
	var le *LoginError
	if errors.As(err, &le) {
		rec.Detail = strings.TrimSpace(le.Reason + " " + detail)
	}
	if aerr := a.store.Audit(ctx, rec); aerr != nil {
		// A login that cannot be audited does not happen.
		return nil, fmt.Errorf("audit login of %q: %w", name, aerr)
	}
	return p, err
}

// login does Login's work and returns what the audit row's detail adds.
func (a *Authenticator) login(ctx context.Context, name, password, addr string) (*Principal, string, error) {
	if addr != "" { // a login from the network; in-process callers have no address
		forName, fromAddr, err := a.store.FailedLogins(ctx, name, addr, a.store.Now().Add(-ThrottleWindow))
		switch {
		case err != nil:
			return nil, "", err
		case forName >= MaxFailedPerUser || fromAddr >= MaxFailedPerAddr:
			return nil, fmt.Sprintf("%d failed for %s, %d from the address in %v", forName, name, fromAddr, ThrottleWindow), refused(ReasonThrottled)
		}
	}
	if inventory.CheckName("user", name) != nil || len(password) > MaxPasswordLen {
		if _, err := a.checkPassword(ctx, a.dummy, password); err != nil {
			return nil, "", err
		}
		return nil, "", refused(ReasonUnknownUser)
	}
	u, err := a.findUser(ctx, name)
	switch {
	case schema.ErrorCode(err) == schema.ENOTFOUND && a.ldap != nil:
		return a.ldapLogin(ctx, nil, name, password, addr)
	case schema.ErrorCode(err) == schema.ENOTFOUND:
		if _, err := a.checkPassword(ctx, a.dummy, password); err != nil {
			return nil, "", err
		}
		return nil, "", refused(ReasonUnknownUser)
	case err != nil:
		return nil, "", err
	case u.Source == inventory.UserLDAP:
		if a.ldap == nil {
			return nil, "ldap is not configured", refused(ReasonLDAPError)
		}
		return a.ldapLogin(ctx, u, name, password, addr)
	}
	hash, reason := u.PasswordHash, ReasonWrongPassword
	if hash == "" {
		hash, reason = a.dummy, ReasonNoPassword
	}
	ok, err := a.checkPassword(ctx, hash, password)
	if err != nil {
		return nil, "", err
	}
	if !ok || u.PasswordHash == "" {
		return nil, "", refused(reason)
	}
	if u.Disabled {
		return nil, "", refused(ReasonDisabled)
	}
	return userPrincipal(u, inventory.UserLocal), "source=local", nil
}

// findUser returns the user of a login name. Directories match names
// without regard to case, so an LDAP user is found whatever case it is
// typed in (and is kept in lower case): ALICE is alice, and a disabled
// alice stays disabled as ALICE. Local users match exactly.
func (a *Authenticator) findUser(ctx context.Context, name string) (*inventory.User, error) {
	u, err := a.store.User(ctx, name)
	lower := strings.ToLower(name)
	if schema.ErrorCode(err) != schema.ENOTFOUND || a.ldap == nil || lower == name {
		return u, err
	}
	if u, lerr := a.store.User(ctx, lower); lerr == nil && u.Source == inventory.UserLDAP {
		return u, nil
	}
	return nil, err
}

// checkPassword runs CheckPassword when one of the maxHashing slots is
// free, or fails when ctx ends first.
func (a *Authenticator) checkPassword(ctx context.Context, hash, password string) (bool, error) {
	select {
	case a.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("wait to check a password: %w", ctx.Err())
	}
	defer func() { <-a.hashing }()
	a.inHash.Add(1)
	defer a.inHash.Add(-1)
	return CheckPassword(hash, password), nil
}

// ldapLogin binds to the directory; u is the user if tana knows it.
func (a *Authenticator) ldapLogin(ctx context.Context, u *inventory.User, name, password, addr string) (*Principal, string, error) {
	lu, err := a.ldap.authenticate(ctx, name, password)
	switch {
	case errors.Is(err, errLDAPNoUser):
		return nil, "", refused(ReasonUnknownUser)
	case errors.Is(err, errLDAPCredentials):
		return nil, "", refused(ReasonWrongPassword)
	case err != nil:
		a.log.ErrorContext(ctx, "ldap login", "user", name, "err", err)
		return nil, err.Error(), refused(ReasonLDAPError)
	}
	if u != nil && u.Disabled {
		return nil, "", refused(ReasonDisabled)
	}
	by := inventory.By{Actor: name, RemoteAddr: addr}
	if u == nil {
		nu := inventory.User{Name: strings.ToLower(name), DisplayName: lu.DisplayName, Source: inventory.UserLDAP}
		if u, err = a.store.CreateUser(ctx, by, nu); err != nil {
			return nil, "", fmt.Errorf("create LDAP user %q: %w", nu.Name, err)
		}
	} else if lu.DisplayName != "" && lu.DisplayName != u.DisplayName {
		if u, err = a.store.ChangeUser(ctx, by, u.Name, inventory.UserChange{DisplayName: &lu.DisplayName}); err != nil {
			return nil, "", err
		}
	}
	teams, err := a.store.SyncLDAPTeams(ctx, by, u.Name, lu.Groups, a.ldap.CreateTeams)
	if err != nil {
		return nil, "", err
	}
	u.Teams = teams
	return userPrincipal(u, inventory.UserLDAP), "source=ldap dn=" + lu.DN, nil
}

func userPrincipal(u *inventory.User, source string) *Principal {
	return &Principal{Kind: "user", Name: u.Name, User: u.Name, Teams: u.Teams, Role: u.Role, Source: source}
}

// NewLocalUser checks a new local user's name, role and password and
// returns it with the password hashed, for Store.CreateUser.
func NewLocalUser(name, display, role, password string) (inventory.User, error) {
	u := inventory.User{Name: name, DisplayName: display, Role: role, Source: inventory.UserLocal}
	if err := inventory.CheckName("name", name); err != nil {
		return u, err
	}
	if role != "" && RoleLevel(role) == None {
		return u, schema.FieldErrorf(schema.EINVALID, "role", "unknown role %q (want reader, writer or admin)", role)
	}
	if err := CheckNewPassword(password); err != nil {
		return u, err
	}
	var err error
	u.PasswordHash, err = HashPassword(password)
	return u, err
}

// now is the store's clock.
func (a *Authenticator) now() time.Time { return a.store.Now() }
