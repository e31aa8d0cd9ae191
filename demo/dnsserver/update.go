package dnsserver

import (
	"github.com/miekg/dns"
)

// update applies an RFC 2136 UPDATE: every prerequisite must hold (else
// the rcode says which kind failed and nothing changes), then every update
// RR is applied and the serial is bumped.
func (s *Server) update(w dns.ResponseWriter, r *dns.Msg) {
	if !s.authorised(w, r) {
		s.reply(w, r, dns.RcodeRefused)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[dns.CanonicalName(r.Question[0].Name)]
	if z == nil {
		s.reply(w, r, dns.RcodeNotAuth)
		return
	}
	if rcode := z.checkPrereqs(r.Answer); rcode != dns.RcodeSuccess {
		s.reply(w, r, rcode)
		return
	}
	for _, rr := range r.Ns {
		if s.zoneFor(rr.Header().Name) != z {
			s.reply(w, r, dns.RcodeNotZone)
			return
		}
	}
	for _, rr := range r.Ns {
		z.apply(rr)
	}
	z.soa.Serial++
	s.reply(w, r, dns.RcodeSuccess)
}

func (z *zone) rrset(name string, t uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range z.rrs {
		if rr.Header().Name == name && (t == dns.TypeANY || rr.Header().Rrtype == t) {
			out = append(out, rr)
		}
	}
	return out
}

// checkPrereqs implements RFC 2136 section 3.2.
func (z *zone) checkPrereqs(prereqs []dns.RR) int {
	type key struct {
		name string
		t    uint16
	}
	want := map[key][]dns.RR{}
	for _, rr := range prereqs {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		switch h.Class {
		case dns.ClassANY:
			if len(z.rrset(name, h.Rrtype)) == 0 && !(h.Rrtype == dns.TypeANY && name == z.name) {
				if h.Rrtype == dns.TypeANY {
					return dns.RcodeNameError
				}
				return dns.RcodeNXRrset
			}
		case dns.ClassNONE:
			if len(z.rrset(name, h.Rrtype)) > 0 {
				if h.Rrtype == dns.TypeANY {
					return dns.RcodeYXDomain
				}
				return dns.RcodeYXRrset
			}
		default:
			c := dns.Copy(rr)
			c.Header().Name = name
			want[key{name, h.Rrtype}] = append(want[key{name, h.Rrtype}], c)
		}
	}
	// Value-dependent: the RRset must be exactly the given records.
	for k, rrs := range want {
		have := z.rrset(k.name, k.t)
		if len(have) != len(rrs) {
			return dns.RcodeNXRrset
		}
		for _, w := range rrs {
			if !containsRR(have, w) {
				return dns.RcodeNXRrset
			}
		}
	}
	return dns.RcodeSuccess
}

func containsRR(rrs []dns.RR, x dns.RR) bool {
	for _, rr := range rrs {
		if dns.IsDuplicate(rr, x) {
			return true
		}
	}
	return false
}

// apply makes one update RR (RFC 2136 section 3.4.2).
func (z *zone) apply(rr dns.RR) {
	h := rr.Header()
	name := dns.CanonicalName(h.Name)
	keep := z.rrs[:0:0]
	switch h.Class {
	case dns.ClassANY: // delete an RRset, or every RRset at the name
		for _, x := range z.rrs {
			if !(x.Header().Name == name && (h.Rrtype == dns.TypeANY || x.Header().Rrtype == h.Rrtype)) {
				keep = append(keep, x)
			}
		}
		z.rrs = keep
	case dns.ClassNONE: // delete one record
		c := dns.Copy(rr)
		c.Header().Class = dns.ClassINET
		c.Header().Name = name
		for _, x := range z.rrs {
			if !dns.IsDuplicate(x, c) {
				keep = append(keep, x)
			}
		}
		z.rrs = keep
	default: // add, unless already there
		c := dns.Copy(rr)
		c.Header().Name = name
		if !containsRR(z.rrs, c) {
			z.rrs = append(z.rrs, c)
		}
	}
}
