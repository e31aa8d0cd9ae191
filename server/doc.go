// Package server is tana's HTTP face: GraphQL generated from the entity
// types (typed, writable, batched), the Ansible inventory endpoint,
// Prometheus metrics, health and token authentication.
//
// Routes: /graphql (POST application/json; GET for queries only),
// /graphiql (GraphiQL from the binary's vendored files), /static/ (embedded
// assets, server/web/assets), /ansible/inventory
// (Options.Ansible), /metrics, /healthz (process up), /readyz (store
// reachable and migrated).
//
// The schema: per entity type an object (vm → Vm, dns_record → DnsRecord)
// with the entry fields (id, name, type, version, status, timestamps, attrs
// as JSON) and one typed field per attribute (memory_mb → memoryMb; an
// attribute named like an entry field gets an attr prefix: host.version →
// attrVersion). References return the referenced object; back-references
// are lists named after the referring type (host { vms }), with the
// attribute added where one type refers through several (hostLinksByA).
// Per type: vm(id:|name:), vms(filter:, first:, after:, orderBy:) as a
// Relay connection, createVm, updateVm, deleteVm; generic entries, entry,
// entryHistory, types, createEntry, updateEntry, deleteEntry, restoreEntry
// and upsertEntries. With Options.Allocator (allocate.go): pools,
// allocations(pool:), allocate, confirmAllocation and releaseAllocation.
// Errors carry extensions.code (CONFLICT, INVALID,
// NOT_FOUND, FORBIDDEN, EXHAUSTED, …) and extensions.field.
//
// Loading is batched per request (see loader): the number of SQL
// statements depends on the shape of a query, not on the number of results.
//
// Authentication: while no API token exists, the server is open — but only
// on a loopback address (Serve refuses any other address unless
// config.Server.AllowOpenNonLoop). Once a token exists (tana token create),
// /graphql, /metrics and /ansible/inventory need Authorization: Bearer
// <token>: readers read, writers also write, admins also see secret
// attributes (null for everyone else, and masked in history). The GraphiQL
// page sends the token kept in the browser's localStorage under "tanaToken".
//
// Limits: the query text is bounded in tokens, nesting and name length
// before it is parsed (document.go); on the parsed query, before
// graphql-go validates it, fragments must be known and acyclic, the
// document small enough once fragments are spread (analyze.go), like-named
// fields mergeable (merge.go), and the operation within config.Server's
// depth and cost (limits.go: cost is the number of fields the answer can
// hold; introspection is counted exactly, introspection.go). first is
// capped by MaxPageSize, bodies by MaxBodyBytes, each request by
// RequestTimeout, which every step before execution honours.
//
// Browsers: every answer carries nosniff and no-framing headers;
// state-changing requests from another origin are refused (security.go).
package server
