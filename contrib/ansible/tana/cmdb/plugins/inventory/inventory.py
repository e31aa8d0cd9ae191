# -*- coding: utf-8 -*-
# The tana.cmdb.inventory inventory plugin: one HTTP GET to a tana server.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: inventory
short_description: Hosts, groups and vars from a tana CMDB server
version_added: 1.0.0
description:
  - Reads the inventory of a tana server (C(tana serve)) with one HTTP GET of
    C(/ansible/inventory). The server builds the groups and hostvars from its
    store, as C(tana inventory --list) does, so this plugin and the
    C(contrib/tana-inventory) script give the same inventory for the same settings.
  - The server filters and trims before it answers (O(query), O(vars)), so hosts
    and variables you do not want never cross the network.
  - Default groups, made on the server when C(tana.yaml) sets no
    C(ansible.keyed_groups), follow the C(constructed) plugin's naming (sanitised,
    prefixed) - one per cluster (C(cluster_prod01)), datacenter (C(datacenter_dc1)),
    power state (C(power_state_poweredOn)) and guest OS family (C(os_linux),
    C(os_windows), C(os_other)) - plus one group per host type (C(vm)) and
    C(tana_stale) for hosts their source no longer reports. Groups and group vars
    from C(tana.yaml) come as well.
  - With the cache on (O(cache)), the answer is kept with its ETag; each run sends
    C(If-None-Match) and a C(304 Not Modified) costs no transfer (O(revalidate)).
    With O(revalidate=false) a run within O(cache_timeout) makes no request at all.
  - O(compose), O(groups) and O(keyed_groups) work as in the C(constructed) plugin
    on each host's vars as the server sent them.
  - The configuration file must end in C(tana.yml) or C(tana.yaml).
author: tana maintainers
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes the file a tana inventory.
    required: true
    choices: [tana.cmdb.inventory]
    type: str
  url:
    description: Base URL of the tana server, e.g. C(https://tana.example.com:8080).
    required: true
    type: str
    env:
      - name: TANA_URL
  token:
    description:
      - "API token (C(tana token create)), sent as C(Authorization: Bearer).
        Leave it out of the file - set C(TANA_TOKEN) instead."
      - The server shows a token only the hosts and attributes it may read.
    type: str
    env:
      - name: TANA_TOKEN
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
    env:
      - name: TANA_VALIDATE_CERTS
  timeout:
    description: Seconds to wait for the server.
    type: int
    default: 120
  query:
    description:
      - A filter on the store, applied by the server. Keys C(types) (list of host
        types, e.g. C([vm])), C(filters) (list of conditions, all of which a host
        meets), C(owner) (list; the C(owner) attribute is one of them) and C(team)
        (the owner is the team or one of its members).
      - "A condition is C(attr=value) (C(attr=v1,v2): any of them; C(\\,) is a comma),
        C(attr~text) (contains), C(attr<n), C(attr<=n), C(attr>n), C(attr>=n),
        C(attr) (has a value) or C(!attr) (has none); attr may be C(name). Lists match
        when any element does; references compare the referenced entry's name."
      - A condition the server cannot answer (unknown attribute, bad value) fails
        the inventory with the server's message naming it.
    type: dict
    default: {}
  vars:
    description:
      - Hostvars to fetch; the others are not sent. C(ansible_host) always is.
        An empty list fetches all.
    type: list
    elements: str
    default: []
  revalidate:
    description:
      - With the cache on, ask the server whether the cached inventory is still
        current (one conditional GET, answered 304 when it is) instead of using it
        unasked until O(cache_timeout).
    type: bool
    default: true
"""

EXAMPLES = r"""
# tana.yml - every host the token may see, with the server's default groups
plugin: tana.cmdb.inventory
url: https://tana.example.com:8080
# token: from TANA_TOKEN

# prod_web.tana.yml - only production web servers, five hostvars, cached
plugin: tana.cmdb.inventory
url: https://tana.example.com:8080
query:
  types: [vm]
  filters: ["role=web", "cluster=prod01,prod02", "cpus>=4"]
  team: ops
vars: [ansible_host, role, cluster, power_state, owner]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/tana
cache_timeout: 600
keyed_groups:
  - key: owner
    prefix: owner
compose:
  ansible_user: "'admin' if role == 'web' else 'root'"
groups:
  big: cpus | default(0) >= 8
"""

import json

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import urlencode
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

QUERY_KEYS = ("types", "filters", "owner", "team")
USER_AGENT = "tana.cmdb/1.0.0"


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "tana.cmdb.inventory"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("tana.yml", "tana.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        body = self._fetch(self.get_cache_key(path), cache)
        try:
            data = self.loader.load(body, json_only=True)
        except Exception as e:
            raise AnsibleParserError("tana: the server's inventory is not JSON: %s" % to_native(e))
        if not isinstance(data, dict):
            raise AnsibleParserError("tana: the server's inventory is not a JSON object")
        self._populate(data)

    def _fetch(self, key, cache):
        """The inventory's JSON text: from the cache, revalidated with its ETag
        unless revalidate is off, or from the server."""
        use_cache = self.get_option("cache")
        cached = None
        if use_cache and cache:
            try:
                cached = self._cache[key]
            except KeyError:
                cached = None
            if not isinstance(cached, dict) or "body" not in cached:
                cached = None
        if cached is not None and not self.get_option("revalidate"):
            return cached["body"]
        status, etag, body = self._get(cached.get("etag") if cached else None)
        if status == 304:
            return cached["body"]
        if use_cache:
            self._cache[key] = {"etag": etag, "body": body}
        return body

    def _url(self):
        params = []
        query = self.get_option("query") or {}
        if not isinstance(query, dict):
            raise AnsibleParserError("tana: query must be a mapping with %s" % ", ".join(QUERY_KEYS))
        for k in query:
            if k not in QUERY_KEYS:
                raise AnsibleParserError("tana: query.%s: unknown key (want %s)" % (k, ", ".join(QUERY_KEYS)))
        for v in _as_list(query.get("types"), "query.types"):
            params.append(("type", v))
        for v in _as_list(query.get("filters"), "query.filters"):
            params.append(("filter", v))
        for v in _as_list(query.get("owner"), "query.owner"):
            params.append(("owner", v))
        if query.get("team"):
            params.append(("team", to_text(query["team"])))
        wanted = self.get_option("vars") or []
        if wanted:
            params.append(("vars", ",".join(to_text(v) for v in wanted)))
        url = self.get_option("url").rstrip("/") + "/ansible/inventory"
        if params:
            url += "?" + urlencode(params)
        return url

    def _get(self, etag):
        """One GET; returns (status, etag, body text)."""
        url = self._url()
        headers = {"Accept": "application/json"}
        if self.get_option("token"):
            headers["Authorization"] = "Bearer " + self.get_option("token")
        if etag:
            headers["If-None-Match"] = etag
        try:
            resp = open_url(url, headers=headers, validate_certs=self.get_option("validate_certs"),
                            timeout=self.get_option("timeout"), http_agent=USER_AGENT, follow_redirects="safe")
        except HTTPError as e:
            if e.code == 304 and etag:
                return 304, etag, None
            raise AnsibleParserError("tana: %s answered %s: %s" % (url, e.code, _reason(e)))
        except Exception as e:
            raise AnsibleParserError("tana: ask %s: %s" % (url, to_native(e)))
        if resp.getcode() == 304 and etag:
            return 304, etag, None
        return resp.getcode(), resp.headers.get("ETag"), to_text(resp.read(), errors="surrogate_or_strict")

    def _populate(self, data):
        """Adds groups, hosts and vars as the script plugin reads a --list,
        then the constructed options."""
        hostvars = {}
        for group, gdata in data.items():
            if group == "_meta":
                hostvars = gdata.get("hostvars", {}) if isinstance(gdata, dict) else {}
                continue
            self._add_group(group, gdata)
        strict = self.get_option("strict")
        compose, groups, keyed = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        for host, hvars in hostvars.items():
            self.inventory.add_host(host)
            for k, v in hvars.items():
                self.inventory.set_variable(host, k, v)
            if compose:
                self._set_composite_vars(compose, hvars, host, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, hvars, host, strict=strict)
            if keyed:
                self._add_host_to_keyed_groups(keyed, hvars, host, strict=strict)

    def _add_group(self, name, gdata):
        group = self.inventory.add_group(name)
        if not isinstance(gdata, dict):
            raise AnsibleParserError("tana: group %s is not a mapping" % name)
        for host in gdata.get("hosts", []):
            self.inventory.add_host(host, group)
        for k, v in gdata.get("vars", {}).items():
            self.inventory.set_variable(group, k, v)
        for child in gdata.get("children", []):
            self.inventory.add_child(group, self.inventory.add_group(child))


def _as_list(value, name):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [to_text(v) for v in value]
    if isinstance(value, str):
        return [value]
    raise AnsibleParserError("tana: %s must be a list" % name)


def _reason(err):
    """The server's {"error": ...} message, else the HTTP reason."""
    try:
        body = json.loads(to_text(err.read()))
        return to_native(body.get("error", err.reason))
    except Exception:
        return to_native(err.reason)
