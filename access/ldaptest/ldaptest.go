// Package ldaptest runs a real OpenLDAP slapd for tests: a temporary
// directory with its configuration, database and TLS certificate, free
// loopback ports for ldap:// and ldaps://, and a directory of people and
// groups loaded with slapadd before it starts. It depends on nothing of
// tana, so any package's tests can use it.
package ldaptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Where Debian's slapd package puts the server and its parts.
const (
	SlapdPath  = "/usr/sbin/slapd"
	SlapaddBin = "/usr/sbin/slapadd"
	SchemaDir  = "/etc/ldap/schema"
	ModuleDir  = "/usr/lib/ldap"
)

// The directory every server starts with (DefaultLDIF).
const (
	Suffix        = "dc=example,dc=com"
	AdminDN       = "cn=admin," + Suffix
	People        = "ou=people," + Suffix
	Groups        = "ou=groups," + Suffix
	ServiceDN     = "cn=tana," + Suffix
	ServicePass   = "service-secret"
	AdminPassword = "admin-secret"
)

// Options configure Start.
type Options struct {
	// LDIF is the directory's content, loaded with slapadd; default
	// DefaultLDIF.
	LDIF string
	// StartTimeout bounds the wait for the first answer (default 20s).
	StartTimeout time.Duration
}

// Server is a running slapd.
type Server struct {
	URL    string // ldap://127.0.0.1:port
	TLSURL string // ldaps://127.0.0.1:port
	// CAFile is the PEM of the CA that signed the server's certificate
	// (for 127.0.0.1 and localhost); TLS is a client config trusting it.
	CAFile string
	TLS    *tls.Config
	Dir    string

	cmd      *exec.Cmd
	exited   chan struct{}
	log      *lockedBuffer
	stopOnce sync.Once
}

// Start starts slapd and stops it when the test ends. Without slapd
// installed it skips the test loudly, except under CI=true, where a
// missing slapd is a broken machine and fails the test.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	for _, bin := range []string{SlapdPath, SlapaddBin} {
		if _, err := os.Stat(bin); err != nil {
			msg := fmt.Sprintf("!!!!! %s not found — install OpenLDAP (apt-get install slapd ldap-utils) to run the LDAP integration tests !!!!!", bin)
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip("SKIPPING: " + msg)
		}
	}
	if opts.LDIF == "" {
		opts.LDIF = DefaultLDIF
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	s := &Server{Dir: tb.TempDir()}
	if err := s.prepare(opts); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	var err error
	// A port found free can be taken before slapd binds it; try again then.
	for range 3 {
		if err = s.start(opts.StartTimeout); err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("ldaptest: start slapd: %v", err)
	return nil
}

// prepare writes the certificate, the configuration and the database.
func (s *Server) prepare(opts Options) error {
	ca, err := writeCerts(s.Dir)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	s.TLS = &tls.Config{RootCAs: ca, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if err := os.Mkdir(filepath.Join(s.Dir, "db"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(s.confPath(), []byte(s.config()), 0o600); err != nil {
		return err
	}
	ldif := filepath.Join(s.Dir, "data.ldif")
	if err := os.WriteFile(ldif, []byte(opts.LDIF), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(SlapaddBin, "-f", s.confPath(), "-l", ldif).CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd: %w\n%s", err, out)
	}
	return nil
}

func (s *Server) confPath() string { return filepath.Join(s.Dir, "slapd.conf") }

// config is slapd.conf: one mdb database for Suffix; passwords are
// readable by nobody, usable to bind by anyone; the rest readable by all.
func (s *Server) config() string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", SchemaDir, sc)
	}
	fmt.Fprintf(&b, `pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath %[2]s
moduleload back_mdb
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
database mdb
maxsize 16777216
suffix %[3]q
rootdn %[4]q
rootpw %[5]s
directory %[1]s/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, s.Dir, ModuleDir, Suffix, AdminDN, AdminPassword)
	return b.String()
}

func (s *Server) start(timeout time.Duration) error {
	port, tlsPort, err := freePorts()
	if err != nil {
		return err
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.TLSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	s.log = &lockedBuffer{}
	// -d 0: stay in the foreground, print errors only; as root, no -u.
	s.cmd = exec.Command(SlapdPath, "-f", s.confPath(), "-h", s.URL+"/ "+s.TLSURL+"/", "-d", "0")
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", SlapdPath, err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = s.cmd.Wait(); close(exited) }()
	if err := s.waitReady(timeout, exited, port, tlsPort); err != nil {
		_ = s.cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w\nslapd output:\n%s", err, s.log.String())
	}
	return nil
}

// waitReady waits until both ports accept connections; slapd exits when
// it cannot bind one.
func (s *Server) waitReady(timeout time.Duration, exited <-chan struct{}, ports ...int) error {
	deadline := time.Now().Add(timeout)
	for _, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				_ = c.Close() // a probe: nothing was sent
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("slapd exited while starting")
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("slapd did not listen on %s within %v", addr, timeout)
			}
		}
	}
	return nil
}

// Stop kills slapd; the test's Cleanup calls it too. Safe to call twice.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
		}
	})
}

// Log returns what slapd printed so far.
func (s *Server) Log() string { return s.log.String() }

// Modify runs ldapmodify-style LDIF changes as the directory's admin
// with the real ldapmodify (ldap-utils).
func (s *Server) Modify(tb testing.TB, ldif string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ldapmodify", "-x", "-H", s.URL, "-D", AdminDN, "-w", AdminPassword)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ldapmodify: %v\n%s\nLDIF:\n%s", err, out, ldif)
	}
}

// freePorts finds two free loopback TCP ports.
func freePorts() (int, int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("find free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports[0], ports[1], nil
}

// lockedBuffer collects slapd's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
