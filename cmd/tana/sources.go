package main

import (
	"context"
	"fmt"
	"time"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/collectors/dns"
	"github.com/tana-cmdb/tana/collectors/vsphere"
	"github.com/tana-cmdb/tana/config"
)

// source is one configured source, built: its collector, its fixer and, for
// --watch, its change feed.
type source struct {
	collector collectors.Collector
	fixer     collectors.Fixer
	watcher   collectors.Watcher
}

// sources builds the collectors and fixers for the named sources (all
// configured sources when names is empty), resolving secrets from the
// environment.
func (c *cli) sources(ctx context.Context, cfg *config.Config, names []string) ([]collectors.Collector, []collectors.Fixer, error) {
	built, err := c.buildSources(cfg, names)
	if err != nil {
		return nil, nil, err
	}
	var cs []collectors.Collector
	var fs []collectors.Fixer
	for _, s := range built {
		cs = append(cs, s.collector)
		fs = append(fs, s.fixer)
	}
	return cs, fs, nil
}

func (c *cli) buildSources(cfg *config.Config, names []string) ([]source, error) {
	if len(names) == 0 {
		for _, s := range cfg.Sources {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no sources configured: add sources to tana.yaml (see README)")
	}
	var out []source
	for _, n := range names {
		sc, err := cfg.Source(n)
		if err != nil {
			return nil, err
		}
		s, err := c.buildSource(sc)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", n, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func (c *cli) buildSource(sc *config.Source) (source, error) {
	log := c.logger()
	switch sc.Type {
	case "vsphere":
		pw, err := config.Secret("password_env", sc.PasswordEnv)
		if err != nil {
			return source{}, err
		}
		vc := vsphere.Config{Name: sc.Name, URL: sc.URL, Username: sc.Username, Password: pw,
			Insecure: sc.Insecure, Thumbprint: sc.Thumbprint, CAFile: sc.CAFile, Timeout: sc.Timeout.D()}
		col, err := vsphere.New(vc, log)
		if err != nil {
			return source{}, err
		}
		fix, err := vsphere.NewFixer(vc, log)
		if err != nil {
			return source{}, err
		}
		return source{collector: col, fixer: fix, watcher: col}, nil
	case "dns":
		dc := dns.Config{Name: sc.Name, Server: sc.Server, Zones: sc.Zones, Timeout: sc.Timeout.D()}
		if sc.TSIG != nil {
			secret, err := config.Secret("tsig.secret_env", sc.TSIG.SecretEnv)
			if err != nil {
				return source{}, err
			}
			dc.TSIG = &dns.TSIG{Name: sc.TSIG.Name, Algorithm: sc.TSIG.Algorithm, Secret: secret}
		}
		col, err := dns.New(dc, log)
		if err != nil {
			return source{}, err
		}
		fix, err := dns.NewFixer(dc, log)
		if err != nil {
			return source{}, err
		}
		return source{collector: col, fixer: fix, watcher: &dns.Watcher{Collector: col, Poll: time.Minute}}, nil
	}
	return source{}, fmt.Errorf("unknown source type %q", sc.Type)
}
