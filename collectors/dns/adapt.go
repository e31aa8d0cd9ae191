package dns

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

// DefaultTTL is used for a record to create whose ttl is absent.
const DefaultTTL = 3600

// skipped types are not records people own: the SOA (reported on the
// dns_zone object) and what DNSSEC signing or BIND maintain themselves.
var skipped = map[uint16]bool{
	dns.TypeSOA: true, dns.TypeRRSIG: true, dns.TypeNSEC: true, dns.TypeNSEC3: true,
	dns.TypeNSEC3PARAM: true, dns.TypeDNSKEY: true, dns.TypeCDS: true,
	dns.TypeCDNSKEY: true, dns.TypeZONEMD: true, dns.TypeTSIG: true,
	65534: true, // BIND's private signing-state records
}

// ZoneObject is the dns_zone object of a zone as seen in its SOA.
func ZoneObject(zone, server string, soa *dns.SOA) collectors.Object {
	return collectors.Object{
		Type: TypeZone, ID: zone, Name: zone,
		Attrs: map[string]any{
			"zone":       zone,
			"server":     server,
			"serial":     int64(soa.Serial),
			"primary_ns": name(soa.Ns),
		},
	}
}

// RecordObject turns one RR of zone into a dns_record object; ok is false
// for RRs that are not records (SOA, DNSSEC, other classes).
func RecordObject(zone string, rr dns.RR) (obj collectors.Object, ok bool) {
	h := rr.Header()
	if skipped[h.Rrtype] || h.Class != dns.ClassINET {
		return obj, false
	}
	fqdn, rtype, value := name(h.Name), dns.Type(h.Rrtype).String(), Value(rr)
	id := RecordID(fqdn, rtype, value)
	return collectors.Object{
		Type: TypeRecord, ID: id, Name: id,
		Attrs: map[string]any{
			"zone":  collectors.Ref{Type: TypeZone, ID: zone},
			"fqdn":  fqdn,
			"rtype": rtype,
			"value": value,
			"ttl":   int64(h.Ttl),
		},
	}, true
}

// RecordID is a record's identity inside its zone: "<fqdn> <TYPE> <value>".
func RecordID(fqdn, rtype, value string) string {
	return fqdn + " " + rtype + " " + value
}

// Value is the rdata of rr in presentation format, normalised so that equal
// records compare equal: canonical IP text, lower-case absolute names,
// lower-case hex and CAA tags. TXT strings keep their case and quoting.
// It parses back with ParseRecord.
func Value(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.A:
		if a, ok := netip.AddrFromSlice(r.A.To4()); ok {
			return a.String()
		}
	case *dns.AAAA:
		// Not Unmap: an AAAA of ::ffff:192.0.2.1 must stay an IPv6 text.
		if a, ok := netip.AddrFromSlice(r.AAAA.To16()); ok {
			return a.String()
		}
	case *dns.CNAME:
		return name(r.Target)
	case *dns.DNAME:
		return name(r.Target)
	case *dns.NS:
		return name(r.Ns)
	case *dns.PTR:
		return name(r.Ptr)
	case *dns.MX:
		return fmt.Sprintf("%d %s", r.Preference, name(r.Mx))
	case *dns.SRV:
		return fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, name(r.Target))
	case *dns.CAA:
		c := *r
		c.Tag = strings.ToLower(c.Tag)
		return rdata(&c)
	case *dns.NAPTR:
		c := *r
		c.Replacement = name(c.Replacement)
		return rdata(&c)
	case *dns.SSHFP:
		return fmt.Sprintf("%d %d %s", r.Algorithm, r.Type, strings.ToLower(r.FingerPrint))
	case *dns.TLSA:
		return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, strings.ToLower(r.Certificate))
	case *dns.DS:
		return fmt.Sprintf("%d %d %d %s", r.KeyTag, r.Algorithm, r.DigestType, strings.ToLower(r.Digest))
	}
	return rdata(rr)
}

// rdata is miekg's presentation of rr without the owner/ttl/class/type.
func rdata(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// name is a domain name lower-case and absolute.
func name(s string) string {
	return strings.ToLower(dns.Fqdn(s))
}

// ParseRecord builds the RR a record object stands for.
func ParseRecord(fqdn, rtype, value string, ttl uint32) (dns.RR, error) {
	t, ok := dns.StringToType[strings.ToUpper(rtype)]
	if !ok || skipped[t] {
		return nil, fmt.Errorf("unsupported record type %q", rtype)
	}
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "" {
		return nil, fmt.Errorf("bad record name %q", fqdn)
	}
	text := fmt.Sprintf("%s %d IN %s %s", dns.Fqdn(fqdn), ttl, dns.TypeToString[t], value)
	rr, err := dns.NewRR(text)
	if err != nil {
		return nil, fmt.Errorf("bad %s record %q: %w", rtype, value, err)
	}
	if rr == nil || rr.Header().Rrtype != t {
		return nil, fmt.Errorf("bad %s record %q", rtype, value)
	}
	return rr, nil
}
