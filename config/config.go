// Package config reads tana.yaml: the database, listener, user types,
// sources, schedules, reconcile policies, the Ansible inventory shape and
// where events go.
// Secrets are never in the file: a source names the environment variable
// that holds them (password_env, secret_env).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tana-cmdb/tana/schema"
)

// Config is tana.yaml.
type Config struct {
	DB        Database          `yaml:"db"`
	Listen    string            `yaml:"listen"`
	Types     string            `yaml:"types"`
	Sources   []Source          `yaml:"sources"`
	Schedules []Schedule        `yaml:"schedules"`
	Policies  map[string]Policy `yaml:"policies"`
	Ansible   Ansible           `yaml:"ansible"`
	Server    Server            `yaml:"server"`
	Auth      Auth              `yaml:"auth"`
	Events    Events            `yaml:"events"`
	// Lease is how long a run and the scope locks it holds live without a
	// heartbeat: a crashed tana frees its scopes, and its runs read
	// interrupted, this long after it died (default 15s).
	Lease Duration `yaml:"lease"`

	file  string         // the file it was read from, for problems
	lines map[string]int // field path → line that sets it
}

// Database is the store: `db: URL`, or a mapping with url and the pool's
// size, `db: {url: URL, max_conns: 40}`.
type Database struct {
	URL string `yaml:"url"`
	// MaxConns is the most connections the store opens; 0 means the
	// store's default.
	MaxConns int `yaml:"max_conns"`
}

// UnmarshalYAML accepts the URL alone or the mapping, strictly.
func (d *Database) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		d.URL = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a database URL or {url: …, max_conns: …}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "url":
			d.URL = v.Value
		case "max_conns":
			if err := v.Decode(&d.MaxConns); err != nil {
				return fmt.Errorf("line %d: want a number of connections, got %q", v.Line, v.Value)
			}
		default:
			return fmt.Errorf("line %d: unknown field %s (want url, max_conns)", k.Line, k.Value)
		}
	}
	return nil
}

// Source is one collector's configuration.
type Source struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // vsphere | dns
	// vsphere
	URL         string   `yaml:"url"`
	Username    string   `yaml:"username"`
	PasswordEnv string   `yaml:"password_env"`
	Insecure    bool     `yaml:"insecure"`
	Thumbprint  string   `yaml:"thumbprint"`
	CAFile      string   `yaml:"ca_file"`
	Timeout     Duration `yaml:"timeout"`
	// dns
	Server string   `yaml:"server"`
	Zones  []string `yaml:"zones"`
	TSIG   *TSIG    `yaml:"tsig"`
}

// TSIG names a DNS transaction signature key; the secret is in SecretEnv.
type TSIG struct {
	Name      string `yaml:"name"`
	Algorithm string `yaml:"algorithm"`
	SecretEnv string `yaml:"secret_env"`
}

// Schedule runs collections and reports on a cron schedule.
type Schedule struct {
	Name    string      `yaml:"name"`
	Cron    string      `yaml:"cron"`
	Collect []string    `yaml:"collect"`
	Report  *ReportSpec `yaml:"report"`
}

// ReportSpec says which report formats a schedule stores and where the
// JSON report is POSTed.
type ReportSpec struct {
	Formats []string `yaml:"formats"`
	Webhook string   `yaml:"webhook"`
	// SecretEnv holds the HMAC key that signs webhook bodies.
	SecretEnv string `yaml:"secret_env"`
	// OnlyOnChange posts the report only when its open drift differs from
	// that of the last report posted, with a digest of what is new,
	// changed and resolved since. Every report is still stored.
	OnlyOnChange bool `yaml:"only_on_change"`
}

// Policy says, per entity type, what reconcile does with drift and where
// its safety limits are.
type Policy struct {
	Observed         string   `yaml:"observed"` // apply | propose
	Declared         string   `yaml:"declared"` // propose | apply | ignore
	MaxDeletes       int      `yaml:"max_deletes"`
	MaxChangePercent float64  `yaml:"max_change_percent"`
	StaleAfter       Duration `yaml:"stale_after"`  // unseen this long: stale (default: first complete collection without it)
	DeleteAfter      Duration `yaml:"delete_after"` // stale this long: soft-deleted
}

// Ansible shapes the dynamic inventory.
type Ansible struct {
	Hosts          []string `yaml:"hosts"`
	HostAddress    []string `yaml:"host_address"`
	HostvarsPrefix string   `yaml:"hostvars_prefix"`
	RefAttrs       []string `yaml:"ref_attrs"` // e.g. cluster.datacenter → hostvar cluster_datacenter
	// KeyedGroups left out (nil) gives the default groups, one per
	// cluster, datacenter, power state and guest OS family
	// (ansible.DefaultKeyedGroups); keyed_groups: [] gives none.
	KeyedGroups       []KeyedGroup     `yaml:"keyed_groups"`
	Groups            map[string]Group `yaml:"groups"`
	GroupVarsFrom     []string         `yaml:"group_vars_from"` // entity types whose entries become group vars
	IncludeSecrets    bool             `yaml:"include_secrets"`
	IncludePoweredOff bool             `yaml:"include_powered_off"`
	IncludeTemplates  bool             `yaml:"include_templates"`
	AllowTemplates    bool             `yaml:"allow_templates"` // let Ansible template CMDB values that look like Jinja2 (default: marked unsafe)
}

// KeyedGroup follows Ansible's constructed plugin: a group per value of key.
type KeyedGroup struct {
	Key       string  `yaml:"key"`
	Prefix    string  `yaml:"prefix"`
	Separator *string `yaml:"separator"`
	Default   string  `yaml:"default_value"`
}

// Group is a user-defined group: hosts whose attributes match all Filters
// (attribute → value).
type Group struct {
	Filters map[string]any `yaml:"filters"`
	Vars    map[string]any `yaml:"vars"`
}

// Server tunes the HTTP server.
type Server struct {
	MaxDepth         int      `yaml:"max_depth"`
	MaxComplexity    int      `yaml:"max_complexity"`
	MaxPageSize      int      `yaml:"max_page_size"`
	MaxBodyBytes     int64    `yaml:"max_body_bytes"`
	RequestTimeout   Duration `yaml:"request_timeout"`
	NoIntrospection  bool     `yaml:"no_introspection"`
	AllowOpenNonLoop bool     `yaml:"allow_open_non_loopback"`
	// TrustedProxies are the addresses (CIDRs) of reverse proxies whose
	// X-Forwarded-For names the client: audit rows and login throttling
	// then see the client, not the proxy.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Duration is a time.Duration written as "90s", "24h", "7d".
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (days) suffix; none may
// be negative. A bad one is a type error, so decoding goes on and every
// problem of the file is reported.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := time.Duration(1)
	if strings.HasSuffix(s, "d") {
		s, mult = strings.TrimSuffix(s, "d")+"h", 24
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad duration %q (e.g. 90s, 12h, 7d)", n.Line, n.Value)}}
	}
	if v < 0 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration %q is negative", n.Line, n.Value)}}
	}
	*d = Duration(v * mult)
	return nil
}

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Default returns the configuration tana runs with when there is no file.
func Default() *Config {
	return &Config{
		lines:  map[string]int{},
		DB:     Database{URL: "sqlite:tana.db"},
		Listen: "127.0.0.1:8080",
		Ansible: Ansible{
			Hosts:       []string{"vm"},
			HostAddress: []string{"ip", "name"},
		},
	}
}

// Load reads a tana.yaml file over the defaults.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes tana.yaml and checks it on its own (Check); the error
// lists every problem, each with its line (see Problems).
func Parse(name string, data []byte) (*Config, error) {
	c, ps := Decode(name, data)
	if err := c.Err(ps); err != nil {
		return nil, err
	}
	return c, nil
}

// Decode reads tana.yaml over the defaults and returns it with every
// problem found in it: unknown keys, values of the wrong type, and what
// Check finds. Callers add the problems of their own checks (types,
// sources) and report all of them at once with Err.
func Decode(name string, data []byte) (*Config, []Problem) {
	c := Default()
	c.file = name
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return c, c.decodeProblems(err)
	}
	recordLines(&root, "", c.lines)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ps []Problem
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		ps = c.decodeProblems(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps = append(ps, Problem{Line: extra.Line, Message: "a second YAML document (tana.yaml is one)"})
	}
	return c, append(ps, c.Check()...)
}

// Source returns the named source.
func (c *Config) Source(name string) (*Source, error) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], nil
		}
	}
	return nil, schema.Errorf(schema.ENOTFOUND, "no source named %q in the configuration", name)
}

// Secret reads a secret from the environment variable env names, with an
// error that says which variable is missing (never its value).
func Secret(field, env string) (string, error) {
	if env == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(env)
	if !ok || v == "" {
		return "", schema.FieldErrorf(schema.EINVALID, field, "environment variable %s is not set", env)
	}
	return v, nil
}
