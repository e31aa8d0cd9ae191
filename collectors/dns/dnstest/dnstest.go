// Package dnstest runs a real BIND named for tests: a temporary directory,
// a free loopback port, a TSIG key allowed to transfer and update every
// zone, and zone files supplied by the test. Other packages (reconcile,
// end-to-end) reuse it, so it depends on nothing of tana.
package dnstest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// NamedPath is where the BIND server is expected (Debian's bind9 package).
const NamedPath = "/usr/sbin/named"

// KeyAlgorithm is the default TSIG algorithm of the harness key.
const KeyAlgorithm = "hmac-sha256"

// Zone is one zone named serves: its name and zone-file text.
type Zone struct {
	Name string // "example.com."
	Data string // zone file; $ORIGIN is the zone name
}

// Options configure StartBIND. With no Zones, ExampleZone and ReverseZone
// are served.
type Options struct {
	Zones []Zone
	// KeyName defaults to "tana-key."; the secret is random per server.
	KeyName string
	// KeyAlgorithm defaults to KeyAlgorithm (hmac-sha256).
	KeyAlgorithm string
	// NotifyAddr, when set (127.0.0.1:port), receives a NOTIFY at once
	// after every change of every zone.
	NotifyAddr string
	// ExtraOptions is appended inside the options { } block.
	ExtraOptions string
	// StartTimeout bounds the wait for the first SOA answer (default 20s,
	// generous for a large zone on a busy machine).
	StartTimeout time.Duration
}

// Server is a running named.
type Server struct {
	Addr         string // 127.0.0.1:port, TCP and UDP
	KeyName      string // absolute, "tana-key."
	KeyAlgorithm string // "hmac-sha256"
	KeySecret    string // base64
	Zones        []string
	Dir          string // working directory: named.conf, zone files, journals, named.log

	cmd      *exec.Cmd
	exited   chan struct{}
	log      *lockedBuffer
	stopOnce sync.Once
}

// StartBIND starts named and stops it when the test ends. It skips the
// test, loudly, only when named is not installed.
func StartBIND(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if _, err := os.Stat(NamedPath); err != nil {
		tb.Skipf("!!!!! SKIPPING: %s not found — install BIND 9 (apt-get install bind9) to run the DNS integration tests !!!!!", NamedPath)
	}
	if len(opts.Zones) == 0 {
		opts.Zones = []Zone{{Name: "example.com.", Data: ExampleZone}, {Name: "2.0.192.in-addr.arpa.", Data: ReverseZone}}
	}
	if opts.KeyName == "" {
		opts.KeyName = "tana-key."
	}
	if opts.KeyAlgorithm == "" {
		opts.KeyAlgorithm = KeyAlgorithm
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	s := &Server{KeyName: dns.Fqdn(opts.KeyName), KeyAlgorithm: opts.KeyAlgorithm, KeySecret: randomSecret(tb), Dir: tb.TempDir()}
	for _, z := range opts.Zones {
		s.Zones = append(s.Zones, dns.CanonicalName(z.Name))
	}
	var err error
	// A port found free can be taken before named binds it; try again then.
	for range 3 {
		if err = s.start(opts); err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
	}
	tb.Fatalf("dnstest: start named: %v", err)
	return nil
}

func (s *Server) start(opts Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	return s.startOn(port, opts)
}

func (s *Server) startOn(port int, opts Options) error {
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := s.writeConfig(port, opts); err != nil {
		return err
	}
	s.log = &lockedBuffer{}
	// -g: foreground, log to stderr; we run as root, so no -u is needed.
	s.cmd = exec.Command(NamedPath, "-g", "-c", filepath.Join(s.Dir, "named.conf"))
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", NamedPath, err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = s.cmd.Wait(); close(exited) }()
	if err := s.waitReady(opts.StartTimeout, exited); err != nil {
		_ = s.cmd.Process.Kill()
		<-exited
		_ = os.WriteFile(filepath.Join(s.Dir, "named.log"), s.log.Bytes(), 0o644)
		return fmt.Errorf("%w\nnamed output:\n%s", err, s.log.String())
	}
	return nil
}

// waitReady waits for named to finish starting, then polls until every
// zone answers SOA. named keeps running when it cannot bind its port, and
// whoever holds the port might answer, so its log is checked first.
func (s *Server) waitReady(timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.log.String(), " running\n") {
		select {
		case <-exited:
			return fmt.Errorf("named exited while starting")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("named did not finish starting within %v", timeout)
		}
	}
	if strings.Contains(s.log.String(), "address in use") {
		return fmt.Errorf("port of %s taken before named could bind it", s.Addr)
	}
	c := &dns.Client{Net: "tcp", Timeout: time.Second}
	for _, z := range s.Zones {
		for {
			m := new(dns.Msg)
			m.SetQuestion(z, dns.TypeSOA)
			r, _, err := c.Exchange(m, s.Addr)
			if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
				break
			}
			select {
			case <-exited:
				return fmt.Errorf("named exited before serving %s", z)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("named did not serve %s within %v (last error %v)", z, timeout, err)
			}
		}
	}
	return nil
}

// Stop kills named; the test's Cleanup calls it too. Safe to call twice.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		_ = s.cmd.Process.Kill()
		// Wait until the process is gone so its port is free again.
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
		}
		_ = os.WriteFile(filepath.Join(s.Dir, "named.log"), s.log.Bytes(), 0o644)
	})
}

// Log returns what named printed so far.
func (s *Server) Log() string { return s.log.String() }

// NSUpdate runs the real nsupdate binary, signed with the server key, on
// script (server and key lines are added; end with "send").
func (s *Server) NSUpdate(tb testing.TB, script string) {
	tb.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	full := fmt.Sprintf("server %s %s\n%s\n", host, port, strings.TrimSpace(script))
	cmd := exec.Command("nsupdate", "-v", "-y", s.KeyAlgorithm+":"+strings.TrimSuffix(s.KeyName, ".")+":"+s.KeySecret)
	cmd.Stdin = strings.NewReader(full)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("nsupdate: %v\n%s\nscript:\n%s", err, out, full)
	}
}

func (s *Server) writeConfig(port int, opts Options) error {
	var b strings.Builder
	fmt.Fprintf(&b, `options {
	directory %q;
	pid-file %q;
	session-keyfile %q;
	managed-keys-directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	reuseport no; // a second named on our port must fail, not share it
	dnssec-validation no;
	%s
	%s
};
controls { };
key %q { algorithm %s; secret %q; };
`, s.Dir, filepath.Join(s.Dir, "named.pid"), filepath.Join(s.Dir, "session.key"), s.Dir, port,
		notifyOptions(opts.NotifyAddr), opts.ExtraOptions, strings.TrimSuffix(s.KeyName, "."), s.KeyAlgorithm, s.KeySecret)
	for i, z := range opts.Zones {
		file := fmt.Sprintf("zone%d.db", i)
		if err := os.WriteFile(filepath.Join(s.Dir, file), []byte(z.Data), 0o644); err != nil {
			return fmt.Errorf("write zone %s: %w", z.Name, err)
		}
		key := strings.TrimSuffix(s.KeyName, ".")
		fmt.Fprintf(&b, `zone %q {
	type primary;
	file %q;
	journal %q;
	allow-transfer { key %q; };
	update-policy { grant %q zonesub ANY; };
};
`, strings.TrimSuffix(dns.CanonicalName(z.Name), "."), file, file+".jnl", key, key)
	}
	return os.WriteFile(filepath.Join(s.Dir, "named.conf"), []byte(b.String()), 0o644)
}

func notifyOptions(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if addr == "" || err != nil {
		return "notify no;"
	}
	return fmt.Sprintf("notify explicit; notify-delay 0; also-notify { %s port %s; };", host, port)
}

// freePort finds a loopback port free for both TCP and UDP.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no loopback port free for both TCP and UDP")
}

func randomSecret(tb testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("dnstest: random key: %v", err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// lockedBuffer collects named's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

func (l *lockedBuffer) String() string { return string(l.Bytes()) }
