package dns

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/miekg/dns"
)

// tsigFudge is the allowed clock skew in seconds (RFC 8945 recommends 300).
const tsigFudge = 300

// tsigKey signs and verifies with one key. It is our own provider because
// miekg/dns dropped HMAC-MD5, which old BIND setups still use.
type tsigKey struct {
	name   string // canonical, absolute
	alg    string // canonical algorithm name as sent on the wire
	newH   func() hash.Hash
	secret []byte
}

// tsigAlgo is an algorithm's wire name and its hash.
type tsigAlgo struct {
	wire string
	newH func() hash.Hash
}

var tsigAlgorithms = map[string]tsigAlgo{
	"hmac-md5":    {dns.HmacMD5, md5.New},
	"hmac-sha1":   {dns.HmacSHA1, sha1.New},
	"hmac-sha224": {dns.HmacSHA224, sha256.New224},
	"hmac-sha256": {dns.HmacSHA256, sha256.New},
	"hmac-sha384": {dns.HmacSHA384, sha512.New384},
	"hmac-sha512": {dns.HmacSHA512, sha512.New},
}

// CheckAlgorithm reports whether name is a TSIG algorithm tana signs with
// ("" is hmac-sha256), so a configuration can be checked before any
// secret is read.
func CheckAlgorithm(name string) error {
	_, err := tsigAlgorithm(name)
	return err
}

// tsigAlgorithm looks an algorithm up by its name, as BIND writes it
// (hmac-sha256) or as it goes on the wire (hmac-md5.sig-alg.reg.int.).
func tsigAlgorithm(name string) (tsigAlgo, error) {
	alg := strings.TrimSuffix(strings.ToLower(name), ".")
	alg = strings.TrimSuffix(alg, ".sig-alg.reg.int")
	if alg == "" {
		alg = "hmac-sha256"
	}
	a, ok := tsigAlgorithms[alg]
	if !ok {
		return tsigAlgo{}, fmt.Errorf("unsupported algorithm %q (want hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512 or hmac-md5)", name)
	}
	return a, nil
}

func newTSIGKey(t TSIG) (*tsigKey, error) {
	if t.Name == "" {
		return nil, fmt.Errorf("tsig: key name is required")
	}
	a, err := tsigAlgorithm(t.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("tsig: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(t.Secret))
	if err != nil || len(secret) == 0 {
		return nil, fmt.Errorf("tsig: key %s: secret is not base64", t.Name)
	}
	return &tsigKey{name: dns.CanonicalName(t.Name), alg: a.wire, newH: a.newH, secret: secret}, nil
}

// sign adds the TSIG record to m, to be filled by Generate when packed.
func (k *tsigKey) sign(m *dns.Msg, unix int64) {
	m.SetTsig(k.name, k.alg, tsigFudge, unix)
}

// Generate implements dns.TsigProvider.
func (k *tsigKey) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if dns.CanonicalName(t.Hdr.Name) != k.name {
		return nil, dns.ErrSecret
	}
	if dns.CanonicalName(t.Algorithm) != k.alg {
		return nil, dns.ErrKeyAlg
	}
	h := hmac.New(k.newH, k.secret)
	h.Write(msg)
	return h.Sum(nil), nil
}

// Verify implements dns.TsigProvider.
func (k *tsigKey) Verify(msg []byte, t *dns.TSIG) error {
	want, err := k.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(want, got) {
		return dns.ErrSig
	}
	return nil
}
