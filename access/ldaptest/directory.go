package ldaptest

// Passwords of the people of DefaultLDIF.
const (
	AlicePassword = "wonderland"
	BobPassword   = "can-we-fix-it"
	CarolPassword = "carol-secret"
	DavePassword  = "dave-secret"
)

// DefaultLDIF is a small company: alice (groups dev and ops), bob (dev),
// carol (qa), dave (no group), the service account tana may search with,
// and the groups as groupOfNames under ou=groups.
const DefaultLDIF = `dn: ` + Suffix + `
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ` + ServiceDN + `
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: tana
userPassword: ` + ServicePass + `

dn: ` + People + `
objectClass: organizationalUnit
ou: people

dn: ` + Groups + `
objectClass: organizationalUnit
ou: groups

dn: uid=alice,` + People + `
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
displayName: Alice Liddell
userPassword: ` + AlicePassword + `

dn: uid=bob,` + People + `
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
userPassword: ` + BobPassword + `

dn: uid=carol,` + People + `
objectClass: inetOrgPerson
uid: carol
cn: Carol Danvers
sn: Danvers
userPassword: ` + CarolPassword + `

dn: uid=dave,` + People + `
objectClass: inetOrgPerson
uid: dave
cn: Dave Bowman
sn: Bowman
userPassword: ` + DavePassword + `

dn: cn=dev,` + Groups + `
objectClass: groupOfNames
cn: dev
member: uid=alice,` + People + `
member: uid=bob,` + People + `

dn: cn=ops,` + Groups + `
objectClass: groupOfNames
cn: ops
member: uid=alice,` + People + `

dn: cn=qa,` + Groups + `
objectClass: groupOfNames
cn: qa
member: uid=carol,` + People + `
`
