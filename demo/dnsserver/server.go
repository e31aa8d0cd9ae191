// Package dnsserver is a small in-process authoritative DNS server for the
// demo: it serves zones from memory over UDP and TCP, answers AXFR, and
// applies TSIG-signed RFC 2136 updates with their prerequisites, so tana's
// DNS collector and fixer talk to it exactly as they talk to BIND.
package dnsserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Server serves zones from memory.
type Server struct {
	Addr    string // host:port it listens on (UDP and TCP)
	KeyName string // TSIG key name (absolute)
	Secret  string // base64 TSIG secret (hmac-sha256)

	mu    sync.Mutex
	zones map[string]*zone
	udp   *dns.Server
	tcp   *dns.Server
	log   *slog.Logger
}

type zone struct {
	name string
	soa  *dns.SOA
	rrs  []dns.RR // every record but the SOA
}

// Start listens on addr ("127.0.0.1:0" for a free port) and serves zones
// parsed from zone files (origin → master-file text).
func Start(addr, keyName, secret string, zoneFiles map[string]string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{KeyName: dns.Fqdn(keyName), Secret: secret, zones: map[string]*zone{}, log: log}
	for origin, text := range zoneFiles {
		z, err := parseZone(origin, text)
		if err != nil {
			return nil, err
		}
		s.zones[z.name] = z
	}
	pc, ln, err := listenBoth(addr)
	if err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	s.Addr = pc.LocalAddr().String()
	secrets := map[string]string{s.KeyName: secret}
	s.udp = &dns.Server{PacketConn: pc, Handler: s, TsigSecret: secrets, MsgAcceptFunc: accept}
	s.tcp = &dns.Server{Listener: ln, Handler: s, TsigSecret: secrets, MsgAcceptFunc: accept}
	go s.serve("udp", s.udp)
	go s.serve("tcp", s.tcp)
	return s, nil
}

// serve runs srv until Close; it returns nil then, so an error is a
// server that stopped on its own, which only the log can tell.
func (s *Server) serve(proto string, srv *dns.Server) {
	if err := srv.ActivateAndServe(); err != nil {
		s.log.Error("demo dns: stopped serving", "proto", proto, "err", err)
	}
}

// listenBoth binds UDP and TCP on one port. With port 0 the UDP port is
// the system's choice and its TCP twin may be taken by another program,
// so a few fresh ports are tried.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || attempt == 10 {
			return nil, nil, err
		}
	}
}

// accept is miekg's default filter plus UPDATE, which it refuses by default.
func accept(dh dns.Header) dns.MsgAcceptAction {
	if int(dh.Bits>>11)&0xF == dns.OpcodeUpdate {
		return dns.MsgAccept
	}
	return dns.DefaultMsgAcceptFunc(dh)
}

// Close stops the server. A server that fails to stop is logged: the
// demo is ending, and there is nothing else to do about it.
func (s *Server) Close() {
	if err := errors.Join(s.udp.Shutdown(), s.tcp.Shutdown()); err != nil {
		s.log.Warn("demo dns: stop", "err", err)
	}
}

func parseZone(origin, text string) (*zone, error) {
	z := &zone{name: dns.CanonicalName(origin)}
	zp := dns.NewZoneParser(strings.NewReader(text), z.name, "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rr.Header().Name = dns.CanonicalName(rr.Header().Name)
		if soa, isSOA := rr.(*dns.SOA); isSOA {
			z.soa = soa
			continue
		}
		z.rrs = append(z.rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	if z.soa == nil {
		return nil, fmt.Errorf("zone %s: no SOA", origin)
	}
	return z, nil
}

// zoneFor returns the zone that contains name.
func (s *Server) zoneFor(name string) *zone {
	name = dns.CanonicalName(name)
	for {
		if z := s.zones[name]; z != nil {
			return z
		}
		i := strings.IndexByte(name, '.')
		if i < 0 || i == len(name)-1 {
			return nil
		}
		name = name[i+1:]
	}
}

// ServeDNS answers queries, transfers and updates.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) != 1 {
		s.reply(w, r, dns.RcodeFormatError)
		return
	}
	q := r.Question[0]
	if r.Opcode == dns.OpcodeUpdate {
		s.update(w, r)
		return
	}
	switch q.Qtype {
	case dns.TypeAXFR:
		s.transfer(w, r)
		return
	case dns.TypeIXFR:
		s.reply(w, r, dns.RcodeNotImplemented) // clients fall back to AXFR
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneFor(q.Name)
	if z == nil {
		s.reply(w, r, dns.RcodeRefused)
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	name := dns.CanonicalName(q.Name)
	if q.Qtype == dns.TypeSOA && name == z.name {
		m.Answer = append(m.Answer, dns.Copy(z.soa))
	}
	exists := name == z.name
	for _, rr := range z.rrs {
		if rr.Header().Name == name {
			exists = true
			if q.Qtype == dns.TypeANY || rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, dns.Copy(rr))
			}
		}
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, dns.Copy(z.soa))
	}
	s.sign(w, r, m)
	s.write(w, m)
}

// authorised reports whether a transfer or update is signed with our key.
func (s *Server) authorised(w dns.ResponseWriter, r *dns.Msg) bool {
	t := r.IsTsig()
	return t != nil && dns.CanonicalName(t.Hdr.Name) == s.KeyName && w.TsigStatus() == nil
}

func (s *Server) sign(w dns.ResponseWriter, r, m *dns.Msg) {
	if t := r.IsTsig(); t != nil && w.TsigStatus() == nil {
		m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	}
}

func (s *Server) reply(w dns.ResponseWriter, r *dns.Msg, rcode int) {
	m := new(dns.Msg)
	m.SetRcode(r, rcode)
	if t := r.IsTsig(); t != nil && w.TsigStatus() == nil {
		m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	}
	s.write(w, m)
}

// write sends an answer; a lost one is the client's to retry, as with any
// DNS server, and the log's to show.
func (s *Server) write(w dns.ResponseWriter, m *dns.Msg) {
	if err := w.WriteMsg(m); err != nil {
		s.log.Warn("demo dns: answer", "to", w.RemoteAddr().String(), "err", err)
	}
}

// transfer sends the zone: SOA, every record, SOA.
func (s *Server) transfer(w dns.ResponseWriter, r *dns.Msg) {
	if !s.authorised(w, r) {
		s.reply(w, r, dns.RcodeRefused)
		return
	}
	s.mu.Lock()
	z := s.zones[dns.CanonicalName(r.Question[0].Name)]
	var rrs []dns.RR
	if z != nil {
		rrs = append(rrs, dns.Copy(z.soa))
		for _, rr := range z.rrs {
			rrs = append(rrs, dns.Copy(rr))
		}
		rrs = append(rrs, dns.Copy(z.soa))
	}
	s.mu.Unlock()
	if z == nil {
		s.reply(w, r, dns.RcodeNotAuth)
		return
	}
	ch := make(chan *dns.Envelope)
	tr := new(dns.Transfer)
	errc := make(chan error, 1)
	go func() { errc <- tr.Out(w, r, ch) }()
	for len(rrs) > 0 {
		n := min(len(rrs), 200)
		ch <- &dns.Envelope{RR: rrs[:n]}
		rrs = rrs[n:]
	}
	close(ch)
	if err := <-errc; err != nil {
		s.log.Warn("demo dns: transfer", "err", err)
	}
}

// Records returns a copy of a zone's records in presentation format,
// sorted, for tests and the demo's output.
func (s *Server) Records(zoneName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[dns.CanonicalName(zoneName)]
	if z == nil {
		return nil
	}
	var out []string
	for _, rr := range z.rrs {
		out = append(out, rr.String())
	}
	sort.Strings(out)
	return out
}

// Add puts a record into a zone by hand, as someone editing the zone
// outside tana would, and bumps the serial.
func (s *Server) Add(record string) error {
	rr, err := dns.NewRR(record)
	if err != nil {
		return err
	}
	rr.Header().Name = dns.CanonicalName(rr.Header().Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneFor(rr.Header().Name)
	if z == nil {
		return fmt.Errorf("no zone for %s", rr.Header().Name)
	}
	z.rrs = append(z.rrs, rr)
	z.soa.Serial++
	return nil
}
