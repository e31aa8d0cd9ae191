package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/tana-cmdb/tana/schema"
)

// argon2id parameters for new hashes: OWASP's first choice (19 MiB, two
// passes, one lane), about 30 ms here. A stored hash carries its own, so
// they can be raised without invalidating passwords.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds of parameters accepted from a stored hash: a hash written by
// hand (or by a broken tool) must not make one login take a gigabyte.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

// Password length bounds: short ones are guessed, long ones cost time.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 1024
)

// CheckNewPassword says what is wrong with a password a user chooses.
func CheckNewPassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password):
		return schema.FieldErrorf(schema.EINVALID, "password", "not valid UTF-8")
	case n < MinPasswordLen:
		return schema.FieldErrorf(schema.EINVALID, "password", "at least %d characters, got %d", MinPasswordLen, n)
	case len(password) > MaxPasswordLen:
		return schema.FieldErrorf(schema.EINVALID, "password", "at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns the argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	return hashWith(password, salt, argonTime, argonMemory, argonThreads), nil
}

// hashWith hashes with the given salt and parameters.
func hashWith(password string, salt []byte, time, memory uint32, threads uint8) string {
	key := argon2.IDKey([]byte(password), salt, time, memory, threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, time, threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches hash. A hash it cannot
// read, or with parameters out of bounds, matches nothing.
func CheckPassword(hash, password string) bool {
	h, ok := parseHash(hash)
	if !ok || len(password) > MaxPasswordLen {
		return false
	}
	key := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

type argonHash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseHash reads a PHC argon2id string, refusing parameters out of
// bounds.
func parseHash(s string) (argonHash, bool) {
	var h argonHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return h, false
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil {
		return h, false
	}
	if h.memory < 8 || h.memory > maxArgonMemory || h.time < 1 || h.time > maxArgonTime || threads < 1 || threads > maxArgonThreads {
		return h, false
	}
	h.threads = uint8(threads)
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, false
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, false
	}
	return h, true
}
