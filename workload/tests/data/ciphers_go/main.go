// Command ciphers_go writes tests/data/ciphers.json: ciphertexts sealed exactly as upstream Kratos's
// cipher/aes.go (AES-256-GCM, NewGCMWithRandomNonce: nonce | ciphertext | tag, hex) and
// cipher/chacha20.go (XChaCha20-Poly1305: 24-byte nonce | ciphertext | tag, hex), with the config
// secret's bytes as the 32-byte key. With arguments `open <algorithm> <key> <hex>` it instead decrypts
// one ciphertext and prints the plaintext as hex (tests use this to check Go reads ours).
//
// Regenerate (from workload/): cd tests/data/ciphers_go && go run . > ../ciphers.json
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/crypto/chacha20poly1305"
)

type sample struct {
	Algorithm  string `json:"algorithm"`
	Key        string `json:"key"`
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext"`
}

func aead(algorithm string, key []byte) cipher.AEAD {
	switch algorithm {
	case "aes":
		block, err := aes.NewCipher(key)
		check(err)
		gcm, err := cipher.NewGCMWithRandomNonce(block)
		check(err)
		return gcm
	case "xchacha20-poly1305":
		x, err := chacha20poly1305.NewX(key)
		check(err)
		return x
	}
	panic("unknown algorithm " + algorithm)
}

func seal(algorithm string, key []byte, plaintext []byte) string {
	a := aead(algorithm, key)
	if algorithm == "aes" {
		return hex.EncodeToString(a.Seal(nil, nil, plaintext, nil))
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	_, err := rand.Read(nonce)
	check(err)
	return hex.EncodeToString(a.Seal(nonce, nonce, plaintext, nil))
}

func open(algorithm string, key []byte, ciphertext string) []byte {
	raw, err := hex.DecodeString(ciphertext)
	check(err)
	a := aead(algorithm, key)
	nonce := []byte(nil)
	if algorithm != "aes" {
		nonce, raw = raw[:a.NonceSize()], raw[a.NonceSize():]
	}
	plain, err := a.Open(nil, nonce, raw, nil)
	check(err)
	return plain
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) == 5 && os.Args[1] == "open" {
		fmt.Println(hex.EncodeToString(open(os.Args[2], []byte(os.Args[3]), os.Args[4])))
		return
	}
	keys := []string{"32-LONG-SECRET-NOT-SECURE-AT-ALL", "change this password to a secret"}
	plaintexts := []string{"x", "my secret message!", "ya29.a0-oidc-refresh-token/with+symbols=", "ünïcödé ✓"}
	var out []sample
	for _, algorithm := range []string{"aes", "xchacha20-poly1305"} {
		for i, p := range plaintexts {
			key := keys[i%len(keys)]
			out = append(out, sample{algorithm, key, p, seal(algorithm, []byte(key), []byte(p))})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	check(enc.Encode(out))
}
