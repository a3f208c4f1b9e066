package krb5

// KRB-CRED (RFC 4120 3.6, 5.8): the message that carries delegated
// (forwarded) tickets with their session keys, inside the GSS checksum
// (RFC 4121 4.1.1).

import (
	"errors"
	"time"

	"github.com/opensspi/sspi/secpkg"
)

// MarshalKRBCred builds a KRB-CRED carrying cred. Its EncKrbCredPart is
// encrypted in key with usage 14 (as MIT and Windows do in GSS
// delegation, with the ticket session key), or sent unencrypted (etype 0,
// RFC 4120 5.8.1) if key is the zero Key.
func MarshalKRBCred(cred *Credential, key Key, now time.Time) ([]byte, error) {
	tk, err := parseTicket(cred.Ticket)
	if err != nil {
		return nil, err
	}
	client, server := cred.Client, cred.Server
	info := krbCredInfo{
		Key:       cred.SessionKey,
		Client:    &client,
		Flags:     cred.Flags,
		HasFlags:  true,
		AuthTime:  cred.AuthTime,
		StartTime: cred.StartTime,
		EndTime:   cred.EndTime,
		RenewTill: cred.RenewTill,
		Server:    &server,
	}
	enc := encKrbCredPart{
		Info:      []krbCredInfo{info},
		Timestamp: now.UTC().Truncate(time.Second),
		Usec:      int32(now.Nanosecond() / 1000),
		HasUsec:   true,
	}
	pt := enc.marshal()
	m := krbCred{Tickets: []ticket{tk}}
	if key.IsZero() {
		m.EncPart = encryptedData{EType: etypeNull, Cipher: pt}
	} else if m.EncPart, err = seal(key, usageKRBCred, pt, 0, false); err != nil {
		return nil, err
	}
	return m.marshal(), nil
}

// ParseKRBCred parses a KRB-CRED and opens its EncKrbCredPart: in the
// clear if its etype is 0, else with the first of keys that decrypts it
// (MIT tries the session key, then the subkey). Each ticket must match
// its KrbCredInfo: the plaintext sname of the ticket must be the
// encrypted one, every credential must name its client and server.
func ParseKRBCred(b []byte, keys ...Key) ([]*Credential, error) {
	var m krbCred
	if err := m.unmarshal(b); err != nil {
		return nil, statusErr(secpkg.StatusInvalidToken, err, "%v", err)
	}
	var pt []byte
	switch m.EncPart.EType {
	case etypeNull:
		pt = m.EncPart.Cipher
	default:
		var err error = errors.New("krb5: no key for the KRB-CRED")
		for _, k := range keys {
			if k.IsZero() || k.EType() != m.EncPart.EType {
				continue
			}
			if pt, err = m.EncPart.open(k, usageKRBCred); err == nil {
				break
			}
		}
		if pt == nil {
			return nil, protoErr(APErrBadIntegrity, "krb5: KRB-CRED does not decrypt: %v", err)
		}
	}
	var enc encKrbCredPart
	if err := enc.unmarshal(pt); err != nil {
		return nil, statusErr(secpkg.StatusInvalidToken, err, "%v", err)
	}
	if len(enc.Info) != len(m.Tickets) || len(m.Tickets) == 0 {
		return nil, statusErr(secpkg.StatusInvalidToken, nil, "krb5: KRB-CRED has %d tickets and %d credentials", len(m.Tickets), len(enc.Info))
	}
	out := make([]*Credential, len(m.Tickets))
	for i, tk := range m.Tickets {
		ci := enc.Info[i]
		if ci.Client == nil || ci.Server == nil || ci.Client.Realm == "" || ci.Server.Realm == "" {
			return nil, statusErr(secpkg.StatusInvalidToken, nil, "krb5: KRB-CRED credential without client or server")
		}
		if !tk.SName.Equal(*ci.Server) {
			return nil, statusErr(secpkg.StatusInvalidToken, nil, "krb5: KRB-CRED ticket for %v, credential for %v", tk.SName, *ci.Server)
		}
		if ci.EndTime.IsZero() {
			return nil, statusErr(secpkg.StatusInvalidToken, nil, "krb5: KRB-CRED credential without an end time")
		}
		start := ci.StartTime
		if start.IsZero() {
			start = ci.AuthTime
		}
		out[i] = &Credential{
			Client:     *ci.Client,
			Server:     *ci.Server,
			Ticket:     tk.Raw,
			SessionKey: ci.Key,
			Flags:      ci.Flags,
			AuthTime:   ci.AuthTime,
			StartTime:  start,
			EndTime:    ci.EndTime,
			RenewTill:  ci.RenewTill,
		}
	}
	return out, nil
}

// errNoCred is returned for operations that need a credential.
func errNoCred(what string) error {
	return statusErr(secpkg.StatusNoCredentials, nil, "krb5: %s needs a credential", what)
}
