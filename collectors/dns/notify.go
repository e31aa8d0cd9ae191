package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/miekg/dns"

	"github.com/tana-cmdb/tana/collectors"
)

// CollectZone takes the snapshot of one configured zone, as Collect does
// for each; meant for a zone a NOTIFY said has changed.
func (c *Collector) CollectZone(ctx context.Context, zone string) (*collectors.Snapshot, error) {
	zone = dns.CanonicalName(zone)
	if !slices.Contains(c.s.zones, zone) {
		return nil, fmt.Errorf("dns %s: zone %s is not configured", c.s.name, zone)
	}
	return c.collectZone(ctx, zone)
}

// ServeNotify answers DNS NOTIFY messages (RFC 1996) arriving on pc until
// ctx ends, and calls changed with the zone of each NOTIFY that names a
// configured zone and comes from the configured server's address or is
// signed with the configured key; others are refused. changed runs on the
// serving goroutine: it should hand the zone off (a channel), not collect.
func (c *Collector) ServeNotify(ctx context.Context, pc net.PacketConn, changed func(zone string)) error {
	allowed, err := c.serverAddrs(ctx)
	if err != nil {
		return err
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		c.answerNotify(w, r, allowed, changed)
	})}
	if c.s.key != nil {
		srv.TsigProvider = c.s.key
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.ShutdownContext(sctx)
	})
	defer stop()
	if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("dns %s: serve NOTIFY: %w", c.s.name, err)
	}
	return nil
}

func (c *Collector) answerNotify(w dns.ResponseWriter, r *dns.Msg, allowed []netip.Addr, changed func(string)) {
	m := new(dns.Msg)
	m.SetReply(r)
	zone := dns.CanonicalName(r.Question[0].Name)
	signed := r.IsTsig() != nil && w.TsigStatus() == nil
	from := addrOf(w.RemoteAddr())
	switch {
	case r.Opcode != dns.OpcodeNotify || r.Question[0].Qtype != dns.TypeSOA:
		m.Rcode = dns.RcodeNotImplemented
	case !slices.Contains(c.s.zones, zone):
		m.Rcode = dns.RcodeRefused
	case !signed && !slices.Contains(allowed, from):
		m.Rcode = dns.RcodeRefused
	default:
		m.Authoritative = true
	}
	if signed {
		c.s.key.sign(m, c.s.now().Unix())
	}
	if err := w.WriteMsg(m); err != nil {
		c.log.Warn("dns NOTIFY reply failed", "zone", zone, "from", from, "err", err)
	}
	if m.Rcode != dns.RcodeSuccess {
		c.log.Warn("dns NOTIFY refused", "zone", zone, "from", from, "rcode", rcodeName(m.Rcode))
		return
	}
	c.log.Info("dns NOTIFY", "zone", zone, "from", from)
	changed(zone)
}

// serverAddrs resolves the configured server's host once.
func (c *Collector) serverAddrs(ctx context.Context) ([]netip.Addr, error) {
	host, _, err := net.SplitHostPort(c.s.server)
	if err != nil {
		return nil, fmt.Errorf("dns %s: server %q: %w", c.s.name, c.s.server, err)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("dns %s: resolve server %s: %w", c.s.name, host, err)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

func addrOf(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
