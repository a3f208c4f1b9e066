package sspi

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"

	"github.com/opensspi/sspi/secpkg"
)

// Channel binding types (RFC 5929, RFC 9266): the prefixes of
// ChannelBindings.ApplicationData.
const (
	BindingTLSServerEndPoint = "tls-server-end-point:"
	BindingTLSUnique         = "tls-unique:"
	BindingTLSExporter       = "tls-exporter:"
)

// exporterLabel is the label RFC 9266 defines for tls-exporter.
const exporterLabel = "EXPORTER-Channel-Binding"

// TLSServerEndPointBindings returns tls-server-end-point channel bindings
// (RFC 5929, Section 4) for the server's leaf certificate: the
// certificate's hash under its signature algorithm's hash function, or
// SHA-256 where that is MD5 or SHA-1. Windows' Extended Protection
// uses this binding. A server passes its own certificate; a client passes
// the server's (see [ClientTLSServerEndPointBindings]).
func TLSServerEndPointBindings(cert *x509.Certificate) (*ChannelBindings, error) {
	if cert == nil {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: tls-server-end-point needs a certificate")
	}
	h := crypto.SHA256
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = crypto.SHA512
	}
	d := h.New()
	d.Write(cert.Raw)
	return &ChannelBindings{ApplicationData: d.Sum([]byte(BindingTLSServerEndPoint))}, nil
}

// ClientTLSServerEndPointBindings returns tls-server-end-point bindings
// for the server certificate a client saw on cs.
func ClientTLSServerEndPointBindings(cs *tls.ConnectionState) (*ChannelBindings, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: the TLS connection has no server certificate")
	}
	return TLSServerEndPointBindings(cs.PeerCertificates[0])
}

// TLSExporterBindings returns tls-exporter channel bindings (RFC 9266):
// 32 bytes of keying material exported with the label
// "EXPORTER-Channel-Binding" and no context. They are defined for TLS 1.3,
// and for TLS 1.2 only with the extended master secret.
func TLSExporterBindings(cs *tls.ConnectionState) (*ChannelBindings, error) {
	if cs == nil || !cs.HandshakeComplete {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: tls-exporter needs a completed TLS handshake")
	}
	// ExportKeyingMaterial refuses connections with neither TLS 1.3 nor
	// the extended master secret.
	ekm, err := cs.ExportKeyingMaterial(exporterLabel, nil, 32)
	if err != nil {
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: tls-exporter: %w", err)
	}
	return &ChannelBindings{ApplicationData: append([]byte(BindingTLSExporter), ekm...)}, nil
}

// TLSUniqueBindings returns tls-unique channel bindings (RFC 5929,
// Section 3): the first Finished message of the handshake. They are
// undefined for TLS 1.3 (RFC 9266 replaces them with tls-exporter) and
// unsafe on resumed TLS 1.2 sessions without the extended master secret,
// which this function refuses.
func TLSUniqueBindings(cs *tls.ConnectionState) (*ChannelBindings, error) {
	switch {
	case cs == nil || !cs.HandshakeComplete:
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: tls-unique needs a completed TLS handshake")
	case cs.Version >= tls.VersionTLS13:
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: tls-unique is not defined for TLS 1.3; use tls-exporter")
	case len(cs.TLSUnique) == 0:
		// crypto/tls leaves it empty on resumed sessions without the
		// extended master secret, where it would be unsafe.
		return nil, secpkg.Errorf(StatusInvalidParameter, "sspi: the TLS connection has no safe tls-unique value")
	}
	return &ChannelBindings{ApplicationData: append([]byte(BindingTLSUnique), cs.TLSUnique...)}, nil
}
