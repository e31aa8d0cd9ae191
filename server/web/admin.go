package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/tana-cmdb/tana/access"
	"github.com/tana-cmdb/tana/inventory"
	"github.com/tana-cmdb/tana/schema"
)

// grant is what one allocate mutation handed out.
type grant struct {
	Pool      string
	Values    []string
	Key       string
	Status    string
	ExpiresAt string
	For       []string
	DNSName   string
	Replayed  bool
	Skipped   []struct{ Value, Reason string }
}

const grantFields = `pool values key status expiresAt for dnsName replayed skipped { value reason }`

// allocateView is the self-service form: a name and an address for a new
// entry, and its DNS records declared, in one go.
type allocateView struct {
	NamePools, IPPools []pool
	NamePool, IPPool   string
	Type, Name, Key    string
	Hold, Reason       string
	DNS                bool
	Grants             []grant
	Error              string
}

func (u *UI) pools(r *http.Request, av *allocateView) error {
	pools, err := u.loadPools(r.Context())
	if err != nil {
		return err
	}
	for _, p := range pools {
		if p.Type == "name_pool" {
			av.NamePools = append(av.NamePools, p)
		} else {
			av.IPPools = append(av.IPPools, p)
		}
	}
	return nil
}

// newKey is a fresh idempotency key for a form: a resubmitted form (a
// double click, a reload) gets its first grant back.
func newKey() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "web-" + hex.EncodeToString(b)
}

func (u *UI) allocateForm(w http.ResponseWriter, r *http.Request) {
	av := allocateView{Type: "vm", DNS: true, Key: newKey()}
	if err := u.pools(r, &av); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	u.render(w, r, http.StatusOK, "allocate", "Allocate", av)
}

// allocate asks the name pool for a name (creating the entry), then the
// address pool for an address bound to it, with its DNS declared; both
// under the form's key, so a retry gets the same grants.
func (u *UI) allocate(w http.ResponseWriter, r *http.Request) {
	f := r.PostFormValue
	av := allocateView{NamePool: f("name_pool"), IPPool: f("ip_pool"), Type: strings.TrimSpace(f("type")), Name: strings.TrimSpace(f("name")),
		Key: strings.TrimSpace(f("key")), Hold: strings.TrimSpace(f("hold")), Reason: f("reason"), DNS: f("dns") == "1"}
	if err := u.pools(r, &av); err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	fail := func(err error) {
		// The key stays: sending the form again after fixing it gets back
		// what was granted already (the name) and asks only for the rest.
		av.Error = err.Error()
		u.render(w, r, statusOf(err), "allocate", "Allocate", av)
	}
	switch {
	case av.NamePool == "" && av.IPPool == "":
		fail(schema.FieldErrorf(schema.EINVALID, "pool", "choose a name pool, an address pool, or both"))
		return
	case av.Type == "":
		fail(schema.FieldErrorf(schema.EINVALID, "type", "say what the values are for (an entity type such as vm)"))
		return
	case av.NamePool == "" && av.Name == "":
		fail(schema.FieldErrorf(schema.EINVALID, "name", "without a name pool, give the name of the entry the address is for"))
		return
	}
	if _, err := u.opts.Store.Registry().Type(av.Type); err != nil {
		fail(schema.FieldErrorf(schema.EINVALID, "type", "no entity type %q", av.Type))
		return
	}
	ask := func(pool, target string, dns bool) (*grant, error) {
		vars := map[string]any{"pool": pool, "for": target, "dns": dns, "reason": av.Reason}
		if av.Key != "" {
			vars["key"] = av.Key
		}
		if av.Hold != "" {
			vars["hold"] = av.Hold
		}
		var data struct{ Allocate grant }
		err := u.query(r.Context(), `mutation($pool: String!, $key: String, $hold: String, $for: String, $dns: Boolean, $reason: String) {
			allocate(pool: $pool, key: $key, hold: $hold, for: $for, dns: $dns, reason: $reason) { `+grantFields+` } }`, vars, &data)
		if err != nil {
			return nil, err
		}
		return &data.Allocate, nil
	}
	name := av.Name
	if av.NamePool != "" {
		g, err := ask(av.NamePool, av.Type, false)
		if err != nil {
			fail(err)
			return
		}
		av.Grants = append(av.Grants, *g)
		if len(g.Values) > 0 {
			name = g.Values[0]
		}
	}
	if av.IPPool != "" {
		g, err := ask(av.IPPool, av.Type+"/"+name, av.DNS)
		if err != nil {
			fail(err)
			return
		}
		av.Grants = append(av.Grants, *g)
	}
	av.Name = name
	av.Key = newKey() // the next request is a new one
	u.render(w, r, http.StatusOK, "allocate", "Allocate", av)
}

// admin refuses a page to anyone but an admin.
func (u *UI) admin(w http.ResponseWriter, r *http.Request) bool {
	if v, _ := u.opts.Viewer(r); !v.Admin {
		u.fail(w, r, http.StatusForbidden, schema.Errorf(schema.EFORBIDDEN, "only admins manage tokens and permissions"))
		return false
	}
	return true
}

// by is who makes a change, for the audit log.
func (u *UI) by(r *http.Request) inventory.By {
	v, _ := u.opts.Viewer(r)
	return inventory.By{Actor: v.Name, RemoteAddr: v.Addr}
}

type tokensView struct {
	Tokens []inventory.Token
	Secret string // a token just made: shown once
	Made   string
	Error  string
}

func (u *UI) tokens(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	u.showTokens(w, r, http.StatusOK, tokensView{})
}

func (u *UI) showTokens(w http.ResponseWriter, r *http.Request, status int, tv tokensView) {
	ts, err := u.opts.Store.Tokens(r.Context())
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	tv.Tokens = ts
	u.render(w, r, status, "tokens", "API tokens", tv)
}

func (u *UI) createToken(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	f := r.PostFormValue
	spec := inventory.TokenSpec{Name: strings.TrimSpace(f("name")), Role: f("role"), User: strings.TrimSpace(f("user")), Team: strings.TrimSpace(f("team"))}
	secret, _, err := u.opts.Store.CreateTokenFor(r.Context(), u.by(r), spec)
	if err != nil {
		u.showTokens(w, r, http.StatusBadRequest, tokensView{Error: err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	u.showTokens(w, r, http.StatusOK, tokensView{Secret: secret, Made: spec.Name})
}

func (u *UI) revokeToken(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	name := r.PathValue("name")
	if err := u.opts.Store.RevokeTokenBy(r.Context(), u.by(r), name); err != nil {
		u.fail(w, r, http.StatusNotFound, err)
		return
	}
	redirect(w, r, "/tokens", "revoked token "+name)
}

type permissionsView struct {
	Grants []access.Grant
	Types  []*schema.EntityType
	Error  string
	Form   map[string]string
}

func (u *UI) permissions(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	u.showPermissions(w, r, http.StatusOK, permissionsView{})
}

func (u *UI) showPermissions(w http.ResponseWriter, r *http.Request, status int, pv permissionsView) {
	p, err := access.LoadPolicy(r.Context(), u.opts.Store)
	if err != nil {
		u.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pv.Grants, pv.Types = p.Grants(), u.opts.Store.Registry().Types()
	u.render(w, r, status, "permissions", "Permissions", pv)
}

func (u *UI) addGrant(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	f := r.PostFormValue
	form := map[string]string{"level": f("level"), "subject": strings.TrimSpace(f("subject")), "type": f("type"), "attr": strings.TrimSpace(f("attr")), "where": strings.TrimSpace(f("where"))}
	failed := func(err error) {
		u.showPermissions(w, r, http.StatusBadRequest, permissionsView{Error: err.Error(), Form: form})
	}
	l, err := access.ParseLevel(form["level"])
	if err != nil {
		failed(schema.FieldErrorf(schema.EINVALID, "level", "%v", err))
		return
	}
	var where []string
	if form["where"] != "" {
		where = strings.Split(form["where"], ",")
		for i := range where {
			where[i] = strings.TrimSpace(where[i])
		}
	}
	g := access.Grant{Level: l, Subject: form["subject"], Type: form["type"], Attr: form["attr"]}
	if g.Where, err = access.ParseWhere(where); err != nil {
		failed(err)
		return
	}
	added, err := access.AddGrant(r.Context(), u.opts.Store, u.by(r), g)
	if err != nil {
		failed(err)
		return
	}
	redirect(w, r, "/permissions", "grant "+strconv.FormatInt(added.ID, 10)+": "+added.String())
}

func (u *UI) revokeGrant(w http.ResponseWriter, r *http.Request) {
	if !u.admin(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, http.StatusNotFound, schema.Errorf(schema.ENOTFOUND, "no grant %q", r.PathValue("id")))
		return
	}
	g, err := access.RevokeGrant(r.Context(), u.opts.Store, u.by(r), id)
	if err != nil {
		u.fail(w, r, statusOf(err), err)
		return
	}
	redirect(w, r, "/permissions", "revoked grant "+strconv.FormatInt(g.ID, 10)+": "+g.String())
}

// loginView is the login page.
type loginView struct {
	Next, User, Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.LoginPage(w, r, http.StatusOK, "", r.URL.Query().Get("next"), "")
}

// LoginPage renders the login form, with an error after a refused login;
// next is where a good login goes.
func (u *UI) LoginPage(w http.ResponseWriter, r *http.Request, status int, user, next, msg string) {
	u.renderAs(w, r, status, "login", view{Title: "Log in", UI: u, Data: loginView{Next: SafeNext(next), User: user, Error: msg}})
}
