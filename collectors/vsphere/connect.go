package vsphere

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// keepAliveIdle is how often an idle session is touched so vCenter does not
// expire it (vCenter's default idle timeout is 30 minutes).
const keepAliveIdle = 5 * time.Minute

// conn is one logged-in session: SOAP for the inventory, REST (vAPI) for
// tags. It logs in again by itself when the server says the session is gone.
type conn struct {
	name string
	log  *slog.Logger
	vim  *vim25.Client
	user *url.Userinfo

	restMu sync.Mutex
	rest   *rest.Client // nil until tags are first needed
	noREST bool         // the server has no vAPI endpoint (ESXi)
	wrap   func(http.RoundTripper) http.RoundTripper
	tmo    time.Duration
}

// dial connects and logs in, turning the usual failures into distinct errors.
func dial(ctx context.Context, cfg Config, log *slog.Logger, wrap func(http.RoundTripper) http.RoundTripper) (*conn, error) {
	u, err := soap.ParseURL(cfg.URL)
	if err != nil || u == nil {
		return nil, fmt.Errorf("vsphere %s: bad url %q: %v", cfg.Name, cfg.URL, err)
	}
	sc, err := newSOAP(cfg, u, wrap)
	if err != nil {
		return nil, err
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, connectError(ctx, cfg.Name, u.Host, err)
	}
	c := &conn{name: cfg.Name, log: log, vim: vc, user: url.UserPassword(cfg.Username, cfg.Password), wrap: wrap, tmo: cfg.Timeout}
	auth := &authRT{inner: sc, relogin: c.relogin}
	vc.RoundTripper = keepalive.NewHandlerSOAP(auth, keepAliveIdle, c.keepAlive)

	if err := session.NewManager(vc).Login(ctx, c.user); err != nil {
		if fault.Is(err, &types.InvalidLogin{}) {
			return nil, fmt.Errorf("vsphere %s: login: %w", cfg.Name, ErrLogin)
		}
		return nil, fmt.Errorf("vsphere %s: login: %w", cfg.Name, err)
	}
	log.Info("vsphere connected", "url", (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), "api", vc.ServiceContent.About.ApiType, "version", vc.ServiceContent.About.Version)
	return c, nil
}

// newSOAP makes the SOAP client: TLS verified unless Insecure, trusting
// CAFile or the pinned Thumbprint, every request bounded by Timeout.
func newSOAP(cfg Config, u *url.URL, wrap func(http.RoundTripper) http.RoundTripper) (*soap.Client, error) {
	sc := soap.NewClient(u, cfg.Insecure)
	if cfg.CAFile != "" {
		if err := sc.SetRootCAs(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("vsphere %s: ca_file: %w", cfg.Name, err)
		}
	}
	if cfg.Thumbprint != "" {
		sc.SetThumbprint(u.Host, normalThumbprint(cfg.Thumbprint))
	}
	sc.Client.Timeout = cfg.Timeout
	if wrap != nil {
		sc.Client.Transport = wrap(sc.Client.Transport)
	}
	return sc, nil
}

// normalThumbprint writes a thumbprint as govmomi compares it: upper case
// hex pairs joined by colons.
func normalThumbprint(tp string) string {
	hex := strings.ToUpper(strings.NewReplacer(":", "", "-", "", " ", "").Replace(tp))
	pairs := make([]string, 0, len(hex)/2)
	for i := 0; i+1 < len(hex); i += 2 {
		pairs = append(pairs, hex[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// connectError says whether the server was unreachable or not trusted.
func connectError(ctx context.Context, name, host string, err error) error {
	if untrusted(err) {
		tp := peerThumbprint(ctx, host)
		return fmt.Errorf("vsphere %s: TLS: %w (thumbprint %s): %v", name, ErrTLS, tp, err)
	}
	return fmt.Errorf("vsphere %s: connect: %w: %w", name, ErrConnect, err)
}

func untrusted(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cve) ||
		soap.IsCertificateUntrusted(err) || strings.Contains(err.Error(), "thumbprint does not match")
}

// peerThumbprint reads the server certificate without trusting it, only to
// show the operator what to pin.
func peerThumbprint(ctx context.Context, host string) string {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "443")
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // #nosec G402 -- read-only, for the message
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "unknown"
	}
	certs := nc.(*tls.Conn).ConnectionState().PeerCertificates
	_ = nc.Close() // only the handshake was wanted, and it is done
	if len(certs) == 0 {
		return "unknown"
	}
	return soap.ThumbprintSHA1(certs[0])
}

// relogin opens a new session on the same client after the old one expired.
func (c *conn) relogin(ctx context.Context, rt soap.RoundTripper) error {
	pw, _ := c.user.Password()
	req := types.Login{This: *c.vim.ServiceContent.SessionManager, UserName: c.user.Username(), Password: pw}
	if _, err := methods.Login(ctx, rt, &req); err != nil {
		return fmt.Errorf("vsphere %s: re-login: %w", c.name, err)
	}
	c.log.Info("vsphere session renewed")
	return nil
}

// keepAlive touches the session; an expired one is renewed by authRT. It
// never fails, so the keep-alive loop keeps running across outages.
func (c *conn) keepAlive() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.tmo)
	defer cancel()
	s, err := session.NewManager(c.vim).UserSession(ctx)
	switch {
	case err != nil:
		c.log.Warn("vsphere keep-alive failed", "err", err)
	case s == nil:
		if err := c.relogin(ctx, c.vim); err != nil {
			c.log.Warn("vsphere keep-alive", "err", err)
		}
	}
	return nil
}

func (c *conn) close(ctx context.Context) error {
	var errs []error
	c.restMu.Lock()
	if c.rest != nil {
		errs = append(errs, c.rest.Logout(ctx))
		c.rest = nil
	}
	c.restMu.Unlock()
	if err := session.NewManager(c.vim).Logout(ctx); err != nil {
		errs = append(errs, fmt.Errorf("vsphere %s: logout: %w", c.name, err))
	}
	c.vim.CloseIdleConnections()
	return errors.Join(errs...)
}

// authRT retries a call once after logging in again when the server answers
// NotAuthenticated (session expired or terminated).
type authRT struct {
	inner   soap.RoundTripper
	relogin func(context.Context, soap.RoundTripper) error
	mu      sync.Mutex
}

func (a *authRT) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	err := a.inner.RoundTrip(ctx, req, res)
	if err == nil || !fault.Is(err, &types.NotAuthenticated{}) {
		return err
	}
	switch req.(type) {
	case *methods.LoginBody, *methods.LogoutBody:
		return err
	}
	a.mu.Lock()
	lerr := a.relogin(ctx, a.inner)
	a.mu.Unlock()
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	// The fault of the first answer stays in res unless it is cleared.
	v := reflect.ValueOf(res).Elem()
	v.Set(reflect.Zero(v.Type()))
	return a.inner.RoundTrip(ctx, req, res)
}
