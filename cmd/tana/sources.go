package main

import (
	"context"
	"errors"

	"github.com/tana-cmdb/tana/collectors"
	"github.com/tana-cmdb/tana/config"
)

// sources builds the collectors and fixers for the named sources (all
// configured sources when names is empty), resolving secrets from the
// environment. Wired to collectors/vsphere and collectors/dns once they land.
func (c *cli) sources(ctx context.Context, cfg *config.Config, names []string) ([]collectors.Collector, []collectors.Fixer, error) {
	return nil, nil, errors.New("sources are not wired yet")
}
