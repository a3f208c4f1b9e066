// Package sspisample is the Microsoft SSPI sample client and server
// ("Using SSPI with a Windows Sockets client/server") rebuilt on
// OpenSSPI's core API, to show the raw token loop an application runs:
//
//   - the client acquires outbound credentials and calls
//     InitializeSecurityContext ([sspi.ClientContext.Initialize]),
//     sending each token with a 4-byte length prefix, until the status is
//     neither SEC_I_CONTINUE_NEEDED nor SEC_I_COMPLETE_AND_CONTINUE;
//   - the server sizes its buffers with QuerySecurityPackageInfo, acquires
//     inbound credentials and answers each token with
//     AcceptSecurityContext ([sspi.ServerContext.Accept]);
//   - the server then queries SECPKG_ATTR_SIZES and
//     SECPKG_ATTR_NEGOTIATION_INFO, names the client (where the sample
//     impersonates it), encrypts a message with EncryptMessage and sends
//     "trailer length | trailer | ciphertext" without a length prefix,
//     then closes the connection;
//   - the client reads until the connection closes and decrypts with
//     DecryptMessage.
//
// As in the sample, lengths are 32-bit values in the machine's byte order
// (little-endian here, as on Windows on x86), and a zero-length token is
// not sent. Applications that want a ready-made authenticated connection
// use package sspinet instead.
package sspisample

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/opensspi/sspi"
	"github.com/opensspi/sspi/secpkg"
)

// DefaultPort is the sample's port.
const DefaultPort = 2000

// Message is what the server sends, sealed.
const Message = "This is your server speaking"

// maxMessage bounds what the sample reads, as its fixed buffers do.
const maxMessage = 64 << 10

// SendMsg writes a length-prefixed message; a zero-length one is not sent
// (SendMsg in the sample).
func SendMsg(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// ReceiveMsg reads a length-prefixed message of at most max bytes
// (ReceiveMsg in the sample).
func ReceiveMsg(r io.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("sample: message of %d bytes exceeds the %d-byte buffer", n, max)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// Client authenticates to the server on conn with cred (outbound) for
// target, then reads and decrypts the server's message (the sample's
// client main, GenClientContext, DoAuthentication and DecryptThis).
func Client(ctx context.Context, conn net.Conn, cred *sspi.Credentials, target string, out io.Writer) (string, error) {
	c := sspi.NewClientContext(cred, &sspi.ClientConfig{Target: target, Flags: sspi.ISCReqConfidentiality})
	defer c.Delete()
	var in []byte
	for {
		tok, status, err := c.Initialize(ctx, in)
		if err != nil {
			return "", fmt.Errorf("InitializeSecurityContext: %w", err)
		}
		if status == sspi.StatusCompleteNeeded || status == sspi.StatusCompleteAndContinue {
			if tok, err = c.CompleteAuthToken(tok); err != nil {
				return "", fmt.Errorf("CompleteAuthToken: %w", err)
			}
		}
		if err := SendMsg(conn, tok); err != nil {
			return "", err
		}
		if status != sspi.StatusContinueNeeded && status != sspi.StatusCompleteAndContinue {
			break
		}
		if in, err = ReceiveMsg(conn, maxMessage); err != nil {
			return "", fmt.Errorf("receiving the server's token: %w", err)
		}
	}
	fmt.Fprintf(out, "client: context established (%s, flags %v)\n", c.Package(), c.Flags())

	// ReceiveBytes until the server closes, then DecryptThis.
	data, err := io.ReadAll(io.LimitReader(conn, maxMessage))
	if err != nil {
		return "", err
	}
	if len(data) < 4 {
		return "", errors.New("sample: no message from the server")
	}
	trailerLen := binary.LittleEndian.Uint32(data)
	if uint64(trailerLen) > uint64(len(data)-4) {
		return "", errors.New("sample: trailer longer than the message")
	}
	trailer, ciphertext := data[4:4+trailerLen], data[4+trailerLen:]
	msg := []sspi.Buffer{
		{Type: secpkg.BufferToken, Data: trailer},
		{Type: secpkg.BufferData, Data: ciphertext},
	}
	if _, err := c.DecryptMessage(msg, 0); err != nil {
		return "", fmt.Errorf("DecryptMessage: %w", err)
	}
	return string(msg[1].Data), nil
}

// Serve authenticates one client on conn with cred (inbound), then sends it
// Message encrypted and closes the connection (the sample's server main,
// DoAuthentication, GenServerContext and EncryptThis).
func Serve(ctx context.Context, conn net.Conn, p *sspi.Provider, cred *sspi.Credentials, out io.Writer) error {
	defer conn.Close()
	info, err := p.QueryPackage(ctx, cred.Package())
	if err != nil {
		return fmt.Errorf("QuerySecurityPackageInfo: %w", err)
	}
	s := sspi.NewServerContext(cred, nil)
	defer s.Delete()
	for {
		in, err := ReceiveMsg(conn, int(info.MaxToken))
		if err != nil {
			return fmt.Errorf("receiving the client's token: %w", err)
		}
		tok, status, err := s.Accept(ctx, in)
		if err != nil {
			return fmt.Errorf("AcceptSecurityContext: %w", err)
		}
		if status == sspi.StatusCompleteNeeded || status == sspi.StatusCompleteAndContinue {
			if tok, err = s.CompleteAuthToken(tok); err != nil {
				return fmt.Errorf("CompleteAuthToken: %w", err)
			}
		}
		if err := SendMsg(conn, tok); err != nil {
			return err
		}
		if status != sspi.StatusContinueNeeded && status != sspi.StatusCompleteAndContinue {
			break
		}
	}
	sizes, err := s.Sizes()
	if err != nil {
		return fmt.Errorf("QueryContextAttributes(SIZES): %w", err)
	}
	ni, err := s.NegotiationInfo(ctx)
	if err != nil {
		return fmt.Errorf("QueryContextAttributes(NEGOTIATION_INFO): %w", err)
	}
	id, err := s.Identity()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "server: package %s, max signature %d, security trailer %d\n", ni.Package.Name, sizes.MaxSignature, sizes.SecurityTrailer)
	fmt.Fprintf(out, "server: client is %s\n", id)

	// EncryptThis: the trailer and the ciphertext, with the trailer's
	// length in front, sent raw.
	buf := make([]byte, 4+int(sizes.SecurityTrailer)+len(Message))
	trailer := buf[4 : 4+sizes.SecurityTrailer]
	data := buf[4+sizes.SecurityTrailer:]
	copy(data, Message)
	msg := []sspi.Buffer{
		{Type: secpkg.BufferToken, Data: trailer},
		{Type: secpkg.BufferData, Data: data},
	}
	if err := s.EncryptMessage(0, msg, 0); err != nil {
		return fmt.Errorf("EncryptMessage: %w", err)
	}
	binary.LittleEndian.PutUint32(buf, uint32(len(msg[0].Data)))
	out2 := append(buf[:4+len(msg[0].Data)], msg[1].Data...)
	_, err = conn.Write(out2)
	return err
}
