package out

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SigFile is the detached OpenSSH signature (SSHSIG) of a kit's SHA256SUMS. It sits at
// the kit's top level, unlisted in SHA256SUMS, and as <kit>.SHA256SUMS.sig beside the
// archives; it is written after them, so an archive never holds it and signing leaves
// the archives' bytes as they are unsigned.
const SigFile = SumsFile + ".sig"

// SigNamespace is the SSHSIG namespace of every kit signature: a signature made for
// another purpose (git commits, files) with the same key is not a kit's.
const SigNamespace = "restorekit"

// sigHash is the hash ssh-keygen -Y sign uses by default.
const sigHash = sshsig.HashSHA512

// SigBeside is the path of the signature beside the kit kitName's archives in dir.
func SigBeside(dir, kitName string) string {
	return filepath.Join(dir, kitName+"."+SigFile)
}

// SigningKey is a key that signs kits: a private key read from a file, or a key held
// by ssh-agent.
type SigningKey struct {
	signer ssh.Signer
	conn   net.Conn // the agent connection, when the agent signs
	// Source says where the key is: "KEY" or "ssh-agent (for KEY)".
	Source string
}

// PublicKey is the key's public half.
func (k *SigningKey) PublicKey() ssh.PublicKey { return k.signer.PublicKey() }

// ID names the key as ssh-keygen does: "ED25519 key SHA256:...".
func (k *SigningKey) ID() string { return KeyID(k.signer.PublicKey()) }

// Close ends the agent connection, if any.
func (k *SigningKey) Close() error {
	if k == nil || k.conn == nil {
		return nil
	}
	return k.conn.Close()
}

// LoadSigningKey opens the key named by path, as ssh-keygen -Y sign -f does:
//   - a private key without a passphrase signs itself;
//   - a public key (KEY.pub), or a passphrase-protected private key, is a key whose
//     private half ssh-agent holds at agentSocket (SSH_AUTH_SOCK).
//
// It never asks for a passphrase, and its errors never quote the file's contents.
func LoadSigningKey(path, agentSocket string) (*SigningKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
		if agentSocket == "" {
			return nil, fmt.Errorf("%s: a public key: its private half must be in ssh-agent, but SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add the private key, or give the private key file)", path)
		}
		return agentKey(path, pub, agentSocket)
	}
	signer, err := ssh.ParsePrivateKey(data)
	var locked *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &locked):
		if agentSocket != "" && locked.PublicKey != nil {
			return agentKey(path, locked.PublicKey, agentSocket)
		}
		return nil, fmt.Errorf("%s: the key is protected by a passphrase and restorekit does not ask for passphrases: add it to ssh-agent (ssh-add %s) and build again with SSH_AUTH_SOCK set", path, path)
	case err != nil:
		return nil, fmt.Errorf("%s: not an SSH private key restorekit can read (%s); a hardware-backed or other key can sign through ssh-agent: ssh-add it and give its .pub file", path, keyParseReason(err))
	}
	if err := signingKeyType(path, signer.PublicKey()); err != nil {
		return nil, err
	}
	return &SigningKey{signer: signer, Source: path}, nil
}

// keyParseReason is the parser's complaint, which names formats and never key bytes.
func keyParseReason(err error) string {
	return strings.TrimPrefix(err.Error(), "ssh: ")
}

// agentKey finds the key pub among the keys the agent at socket holds.
func agentKey(path string, pub ssh.PublicKey, socket string) (*SigningKey, error) {
	if err := signingKeyType(path, pub); err != nil {
		return nil, err
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("%s: the key is to be used through ssh-agent, but SSH_AUTH_SOCK=%s does not answer: %w", path, socket, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh-agent at %s: %w", socket, err)
	}
	want := pub.Marshal()
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), want) {
			return &SigningKey{signer: s, conn: conn, Source: "ssh-agent (for " + path + ")"}, nil
		}
	}
	conn.Close()
	return nil, fmt.Errorf("%s: ssh-agent at %s does not hold this key (%s); add it with ssh-add", path, socket, KeyID(pub))
}

// signingKeyType accepts the key types current OpenSSH signs and verifies with.
func signingKeyType(path string, pub ssh.PublicKey) error {
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return nil
	case ssh.KeyAlgoRSA:
		if ck, ok := pub.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(interface{ Size() int }); ok && rk.Size()*8 < 2048 {
				return fmt.Errorf("%s: an RSA key of %d bits; sign with at least 2048 bits (or ed25519)", path, rk.Size()*8)
			}
		}
		return nil
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return fmt.Errorf("%s: an SSH certificate; sign with the plain key (ed25519, ECDSA or RSA)", path)
	}
	return fmt.Errorf("%s: a %s key; sign with an ed25519, ECDSA or RSA key", path, pub.Type())
}

// SignSums returns the armored SSHSIG signature of a SHA256SUMS file's bytes, as
// ssh-keygen -Y sign -n restorekit writes it.
func SignSums(sums []byte, key *SigningKey) ([]byte, error) {
	sig, err := sshsig.Sign(bytes.NewReader(sums), key.signer, sigHash, SigNamespace)
	if err != nil {
		return nil, fmt.Errorf("signing %s with %s: %w", SumsFile, key.Source, err)
	}
	return sshsig.Armor(sig), nil
}

// KeyID names a public key as ssh-keygen's messages do: "ED25519 key SHA256:...".
func KeyID(pub ssh.PublicKey) string {
	name := map[string]string{
		ssh.KeyAlgoED25519: "ED25519", ssh.KeyAlgoRSA: "RSA",
		ssh.KeyAlgoECDSA256: "ECDSA", ssh.KeyAlgoECDSA384: "ECDSA", ssh.KeyAlgoECDSA521: "ECDSA",
		ssh.KeyAlgoSKED25519: "ED25519-SK", ssh.KeyAlgoSKECDSA256: "ECDSA-SK",
	}[pub.Type()]
	if name == "" {
		name = pub.Type()
	}
	return name + " key " + ssh.FingerprintSHA256(pub)
}

// What is wrong with a kit's signature: each SignatureError has one of these kinds.
const (
	SigUnsigned       = "not signed"
	SigUnreadable     = "unreadable signature"
	SigWrongNamespace = "wrong namespace"
	SigBad            = "bad signature"
	SigUnknownSigner  = "unknown signer"
	SigNotAllowed     = "signer not allowed"
)

// SignatureError says why a kit's signature does not verify.
type SignatureError struct {
	Kind   string // one of the Sig* kinds
	Detail string
}

func (e *SignatureError) Error() string { return e.Kind + ": " + e.Detail }

// SignedBy is who signed a kit.
type SignedBy struct {
	// Principals are those of the allowed signers line that accepted the key (nil when
	// no allowed signers were given).
	Principals []string
	// Key is the signing key as ssh-keygen names it: "ED25519 key SHA256:...".
	Key string
	// Fingerprint is the key's "SHA256:..." fingerprint.
	Fingerprint string
}

// VerifySignature checks sig, an armored SSHSIG, over a SHA256SUMS file's bytes: it
// must be for the restorekit namespace, match sums, and (unless allowed is nil) be
// made by a key the allowed signers accept for that namespace at the time now. It
// checks what ssh-keygen -Y verify does, in the order ssh-keygen does.
func VerifySignature(sums, sig []byte, allowed *AllowedSigners, now time.Time) (*SignedBy, error) {
	s, err := sshsig.Unarmor(sig)
	if err != nil {
		return nil, &SignatureError{Kind: SigUnreadable, Detail: fmt.Sprintf("not an SSH signature (%v)", err)}
	}
	if s.Namespace != SigNamespace {
		return nil, &SignatureError{Kind: SigWrongNamespace, Detail: fmt.Sprintf("made for namespace %q; a kit's signature is for %q", s.Namespace, SigNamespace)}
	}
	if err := sshsig.Verify(bytes.NewReader(sums), s, s.PublicKey, s.HashAlgorithm, SigNamespace); err != nil {
		return nil, &SignatureError{Kind: SigBad, Detail: fmt.Sprintf("it does not match %s (%v): the kit's %s or its signature was changed", SumsFile, err, SumsFile)}
	}
	by := &SignedBy{Key: KeyID(s.PublicKey), Fingerprint: ssh.FingerprintSHA256(s.PublicKey)}
	if allowed == nil {
		return by, nil
	}
	e, err := allowed.accept(s.PublicKey, SigNamespace, now)
	if err != nil {
		return nil, err
	}
	by.Principals = e.Principals
	return by, nil
}

// CheckSignature verifies the kit's signature over its SHA256SUMS. The signature is
// sigPath when given, else SigFile in the kit directory, else <kit>.SHA256SUMS.sig
// beside the path the kit was opened from; with none of them it is a SigUnsigned
// error. It returns the signature file it used, named as the user knows it.
func (o *Opened) CheckSignature(sigPath string, allowed *AllowedSigners, now time.Time) (by *SignedBy, shown string, err error) {
	shown = sigPath
	if sigPath == "" {
		inside := filepath.Join(o.Dir, SigFile)
		beside := SigBeside(filepath.Dir(filepath.Clean(o.Path)), filepath.Base(o.Dir))
		insideName := filepath.Join(o.Path, SigFile)
		if o.Kind != "directory" {
			insideName = filepath.Base(o.Dir) + "/" + SigFile + " in " + o.Path
		}
		switch {
		case exists(inside):
			sigPath, shown = inside, insideName
		case exists(beside):
			sigPath, shown = beside, beside
		default:
			return nil, "", &SignatureError{Kind: SigUnsigned, Detail: fmt.Sprintf("neither %s nor %s exists: nothing shows who built this kit", insideName, beside)}
		}
	}
	sig, err := os.ReadFile(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, shown, &SignatureError{Kind: SigUnsigned, Detail: fmt.Sprintf("%s does not exist", shown)}
	}
	if err != nil {
		return nil, shown, err
	}
	sums, err := os.ReadFile(filepath.Join(o.Dir, SumsFile))
	if err != nil {
		return nil, shown, err
	}
	by, err = VerifySignature(sums, sig, allowed, now)
	if se, ok := err.(*SignatureError); ok {
		se.Detail = shown + ": " + se.Detail
	}
	return by, shown, err
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
