// Package httpauth is HTTP Negotiate and NTLM authentication (RFC 4559,
// MS-NTHT) over the sspi API: the role of IIS's Windows authentication
// on the server side and of WinHTTP's integrated authentication on the
// client side.
//
// # Server
//
// A [Handler] is middleware: [Handler.Wrap] puts authentication in front
// of an http.Handler. A request without credentials gets 401 with
// "WWW-Authenticate: Negotiate" (and "NTLM" when enabled); the client's
// tokens go to [sspi.ServerContext.Accept] leg by leg; once the context is
// established the handler sends the final token (the mutual-authentication
// proof) in the success response and serves the request with the client's
// identity in the request's context ([IdentityFrom], [AuthenticationFrom]).
//
// Handshakes that take more than one leg (NTLM, and Negotiate over NTLM)
// are bound to the TCP connection: their state lives in a per-connection
// record that [Handler.Install] hooks into http.Server.ConnContext and
// ConnState, that no other connection can reach, and that is dropped when
// the connection closes. As IIS does by default, a connection that
// authenticated stays authenticated for its later requests (see
// ServerConfig.PerRequest to require a handshake on every request).
//
// # Client
//
// A [Transport] is an http.RoundTripper that answers 401 and 407
// challenges from hosts on its allow-list: it reads every
// WWW-Authenticate and Proxy-Authenticate header, prefers Negotiate to
// NTLM, runs [sspi.ClientContext.Initialize] leg by leg on one connection,
// verifies the server's final token, binds to TLS with
// tls-server-end-point channel bindings over HTTPS, and authenticates to
// proxies, CONNECT tunnels included. It speaks HTTP/1.1 on connections of
// its own, because connection-oriented authentication needs to know which
// connection a request travels on.
//
// # Windows names
//
//	IIS windowsAuthentication providers     ServerConfig.Package, ServerConfig.NTLM
//	IIS authPersistSingleRequest            ServerConfig.PerRequest
//	IIS extendedProtection tokenChecking    ServerConfig.ExtendedProtection
//	WinHTTP WINHTTP_AUTH_SCHEME_NEGOTIATE   SchemeNegotiate
//	WinHTTP WINHTTP_AUTH_SCHEME_NTLM        SchemeNTLM
//	WinHTTP WINHTTP_AUTOLOGON_SECURITY_*    ClientConfig.AllowedHosts
//	WinHTTP WINHTTP_AUTH_TARGET_PROXY       proxy authentication (407)
package httpauth
