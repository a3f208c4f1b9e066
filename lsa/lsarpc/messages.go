package lsarpc

import (
	"math"
	"time"

	"github.com/opensspi/sspi/lsa"
	"github.com/opensspi/sspi/secpkg"
)

// The bodies of the protocol's messages. Each is an unexported struct
// whose every field carries its wire key; doc/lsa-protocol.md lists the
// same keys and types, and testdata/frames pins the bytes. The lsa and
// secpkg types never cross the socket themselves: renaming one of their
// fields cannot change the wire, and a field added there reaches the
// wire only when it is added here (and to the document).
//
// Keys are snake_case text. Absent keys mean the zero value, so the
// encoder leaves out zero fields (omitzero) and the decoder ignores keys
// it does not know. Times are RFC 3339 text in UTC under tag 0.

// wireHandle is an lsa.SecHandle.
type wireHandle struct {
	Epoch uint64 `cbor:"epoch,omitzero"`
	ID    uint64 `cbor:"id,omitzero"`
}

func toWireHandle(h lsa.SecHandle) wireHandle { return wireHandle{Epoch: h.Epoch, ID: h.ID} }
func (h wireHandle) handle() lsa.SecHandle    { return lsa.SecHandle{Epoch: h.Epoch, ID: h.ID} }
func (h wireHandle) isZero() bool             { return h == wireHandle{} }

// utc puts a time in UTC, so that its encoding does not depend on the
// zone of the process.
func utc(t time.Time) time.Time { return t.UTC() }

// wireIdentity is a secpkg.AuthIdentity (SEC_WINNT_AUTH_IDENTITY). It only
// ever travels towards the LSA.
type wireIdentity struct {
	User     string      `cbor:"user,omitzero"`
	Domain   string      `cbor:"domain,omitzero"`
	Password []byte      `cbor:"password,omitzero"`
	Packed   *wirePacked `cbor:"packed,omitzero"`
}

// wirePacked is a secpkg.PackedCredentials: a keytab, a credentials
// cache, or the path of one.
type wirePacked struct {
	Type string `cbor:"type,omitzero"`
	Data []byte `cbor:"data,omitzero"`
}

func toWireIdentity(a *secpkg.AuthIdentity) *wireIdentity {
	if a == nil {
		return nil
	}
	w := &wireIdentity{User: a.User, Domain: a.Domain, Password: a.Password}
	if a.Packed != nil {
		w.Packed = &wirePacked{Type: string(a.Packed.Type), Data: a.Packed.Data}
	}
	return w
}

func (w *wireIdentity) identity() *secpkg.AuthIdentity {
	if w == nil {
		return nil
	}
	a := &secpkg.AuthIdentity{User: w.User, Domain: w.Domain, Password: w.Password}
	if w.Packed != nil {
		a.Packed = &secpkg.PackedCredentials{Type: secpkg.PackedCredentialType(w.Packed.Type), Data: w.Packed.Data}
	}
	return a
}

// wireBindings is a secpkg.ChannelBindings (SEC_CHANNEL_BINDINGS).
type wireBindings struct {
	InitiatorAddrType uint32 `cbor:"initiator_addr_type,omitzero"`
	InitiatorAddress  []byte `cbor:"initiator_address,omitzero"`
	AcceptorAddrType  uint32 `cbor:"acceptor_addr_type,omitzero"`
	AcceptorAddress   []byte `cbor:"acceptor_address,omitzero"`
	ApplicationData   []byte `cbor:"application_data,omitzero"`
}

func toWireBindings(cb *secpkg.ChannelBindings) *wireBindings {
	if cb == nil {
		return nil
	}
	return &wireBindings{InitiatorAddrType: cb.InitiatorAddrType, InitiatorAddress: cb.InitiatorAddress,
		AcceptorAddrType: cb.AcceptorAddrType, AcceptorAddress: cb.AcceptorAddress, ApplicationData: cb.ApplicationData}
}

func (w *wireBindings) bindings() *secpkg.ChannelBindings {
	if w == nil {
		return nil
	}
	return &secpkg.ChannelBindings{InitiatorAddrType: w.InitiatorAddrType, InitiatorAddress: w.InitiatorAddress,
		AcceptorAddrType: w.AcceptorAddrType, AcceptorAddress: w.AcceptorAddress, ApplicationData: w.ApplicationData}
}

// wireBuffer is a secpkg.Buffer (SecBuffer).
type wireBuffer struct {
	Type uint32 `cbor:"type,omitzero"`
	Data []byte `cbor:"data,omitzero"`
}

func toWireBuffers(bs []secpkg.Buffer) []wireBuffer {
	if bs == nil {
		return nil
	}
	out := make([]wireBuffer, len(bs))
	for i, b := range bs {
		out[i] = wireBuffer{Type: uint32(b.Type), Data: b.Data}
	}
	return out
}

func buffers(ws []wireBuffer) []secpkg.Buffer {
	if ws == nil {
		return nil
	}
	out := make([]secpkg.Buffer, len(ws))
	for i, w := range ws {
		out[i] = secpkg.Buffer{Type: secpkg.BufferType(w.Type), Data: w.Data}
	}
	return out
}

// wirePackageInfo is a secpkg.PackageInfo (SecPkgInfo).
type wirePackageInfo struct {
	Capabilities uint32 `cbor:"capabilities,omitzero"`
	Version      uint16 `cbor:"version,omitzero"`
	RPCID        uint16 `cbor:"rpc_id,omitzero"`
	MaxToken     uint32 `cbor:"max_token,omitzero"`
	Name         string `cbor:"name,omitzero"`
	Comment      string `cbor:"comment,omitzero"`
}

// packagesReply is the EnumeratePackages reply.
type packagesReply struct {
	Packages []wirePackageInfo `cbor:"packages,omitzero"`
}

func toPackagesReply(ps []secpkg.PackageInfo) *packagesReply {
	r := &packagesReply{Packages: make([]wirePackageInfo, len(ps))}
	for i, p := range ps {
		r.Packages[i] = wirePackageInfo{Capabilities: uint32(p.Capabilities), Version: p.Version, RPCID: p.RPCID,
			MaxToken: p.MaxToken, Name: p.Name, Comment: p.Comment}
	}
	return r
}

func (r *packagesReply) packages() []secpkg.PackageInfo {
	out := make([]secpkg.PackageInfo, len(r.Packages))
	for i, p := range r.Packages {
		out[i] = secpkg.PackageInfo{Capabilities: secpkg.Capabilities(p.Capabilities), Version: p.Version, RPCID: p.RPCID,
			MaxToken: p.MaxToken, Name: p.Name, Comment: p.Comment}
	}
	return out
}

// acquireRequest is an lsa.AcquireCredentialsRequest.
type acquireRequest struct {
	Package   string        `cbor:"package,omitzero"`
	Principal string        `cbor:"principal,omitzero"`
	Use       uint32        `cbor:"use,omitzero"`
	LogonID   uint64        `cbor:"logon_id,omitzero"`
	Identity  *wireIdentity `cbor:"identity,omitzero"`
	Packages  string        `cbor:"package_list,omitzero"`
}

func toAcquireRequest(r *lsa.AcquireCredentialsRequest) *acquireRequest {
	return &acquireRequest{Package: r.Package, Principal: r.Principal, Use: uint32(r.Use), LogonID: uint64(r.LogonID), Identity: toWireIdentity(r.Identity), Packages: r.PackageList}
}

func (w *acquireRequest) request() *lsa.AcquireCredentialsRequest {
	return &lsa.AcquireCredentialsRequest{Package: w.Package, Principal: w.Principal, Use: secpkg.CredentialUse(w.Use),
		LogonID: secpkg.LogonID(w.LogonID), Identity: w.Identity.identity(), PackageList: w.Packages}
}

// credentialsReply is an lsa.CredentialsReply.
type credentialsReply struct {
	Handle  wireHandle `cbor:"handle,omitzero"`
	Package string     `cbor:"package,omitzero"`
	Name    string     `cbor:"name,omitzero"`
	Expiry  time.Time  `cbor:"expiry,omitzero"`
}

func toCredentialsReply(r *lsa.CredentialsReply) *credentialsReply {
	return &credentialsReply{Handle: toWireHandle(r.Handle), Package: r.Package, Name: r.Name, Expiry: utc(r.Expiry)}
}

func (w *credentialsReply) reply() *lsa.CredentialsReply {
	return &lsa.CredentialsReply{Handle: w.Handle.handle(), Package: w.Package, Name: w.Name, Expiry: w.Expiry}
}

// initializeRequest is an lsa.InitializeContextRequest.
type initializeRequest struct {
	Credential wireHandle    `cbor:"credential,omitzero"`
	Context    wireHandle    `cbor:"context,omitzero"`
	Target     string        `cbor:"target,omitzero"`
	Flags      uint64        `cbor:"flags,omitzero"`
	DataRep    uint32        `cbor:"data_rep,omitzero"`
	Token      []byte        `cbor:"token,omitzero"`
	Bindings   *wireBindings `cbor:"bindings,omitzero"`
	CanMap     bool          `cbor:"can_map,omitzero"`
	SentToken  []byte        `cbor:"sent_token,omitzero"`
}

func toInitializeRequest(r *lsa.InitializeContextRequest) *initializeRequest {
	return &initializeRequest{Credential: toWireHandle(r.Credential), Context: toWireHandle(r.Context), Target: r.Target,
		Flags: uint64(r.Flags), DataRep: r.DataRep, Token: r.Token, Bindings: toWireBindings(r.Bindings), CanMap: r.CanMap,
		SentToken: r.SentToken}
}

func (w *initializeRequest) request() *lsa.InitializeContextRequest {
	return &lsa.InitializeContextRequest{Credential: w.Credential.handle(), Context: w.Context.handle(), Target: w.Target,
		Flags: secpkg.ISCFlags(w.Flags), DataRep: w.DataRep, Token: w.Token, Bindings: w.Bindings.bindings(), CanMap: w.CanMap,
		SentToken: w.SentToken}
}

// acceptRequest is an lsa.AcceptContextRequest.
type acceptRequest struct {
	Credential wireHandle    `cbor:"credential,omitzero"`
	Context    wireHandle    `cbor:"context,omitzero"`
	Flags      uint64        `cbor:"flags,omitzero"`
	DataRep    uint32        `cbor:"data_rep,omitzero"`
	Token      []byte        `cbor:"token,omitzero"`
	Bindings   *wireBindings `cbor:"bindings,omitzero"`
	CanMap     bool          `cbor:"can_map,omitzero"`
}

func toAcceptRequest(r *lsa.AcceptContextRequest) *acceptRequest {
	return &acceptRequest{Credential: toWireHandle(r.Credential), Context: toWireHandle(r.Context),
		Flags: uint64(r.Flags), DataRep: r.DataRep, Token: r.Token, Bindings: toWireBindings(r.Bindings), CanMap: r.CanMap}
}

func (w *acceptRequest) request() *lsa.AcceptContextRequest {
	return &lsa.AcceptContextRequest{Credential: w.Credential.handle(), Context: w.Context.handle(),
		Flags: secpkg.ASCFlags(w.Flags), DataRep: w.DataRep, Token: w.Token, Bindings: w.Bindings.bindings(), CanMap: w.CanMap}
}

// wireSizes is a secpkg.Sizes (SecPkgContext_Sizes).
type wireSizes struct {
	MaxToken        uint32 `cbor:"max_token,omitzero"`
	MaxSignature    uint32 `cbor:"max_signature,omitzero"`
	BlockSize       uint32 `cbor:"block_size,omitzero"`
	SecurityTrailer uint32 `cbor:"security_trailer,omitzero"`
}

// wireStreamSizes is a secpkg.StreamSizes (SecPkgContext_StreamSizes).
type wireStreamSizes struct {
	Header         uint32 `cbor:"header,omitzero"`
	Trailer        uint32 `cbor:"trailer,omitzero"`
	MaximumMessage uint32 `cbor:"maximum_message,omitzero"`
	Buffers        uint32 `cbor:"buffers,omitzero"`
	BlockSize      uint32 `cbor:"block_size,omitzero"`
}

// wireClientIdentity is a secpkg.Identity: who authenticated, as the
// server side of a context learns it.
type wireClientIdentity struct {
	User        string    `cbor:"user,omitzero"`
	Domain      string    `cbor:"domain,omitzero"`
	Package     string    `cbor:"package,omitzero"`
	Groups      []string  `cbor:"groups,omitzero"`
	Flags       uint64    `cbor:"flags,omitzero"`
	Expiry      time.Time `cbor:"expiry,omitzero"`
	Anonymous   bool      `cbor:"anonymous,omitzero"`
	Workstation string    `cbor:"workstation,omitzero"`
	Bindings    uint32    `cbor:"bindings,omitzero"`
	LogonID     uint64    `cbor:"logon_id,omitzero"`
	PAC         *wirePAC  `cbor:"pac,omitzero"`
}

// wirePAC is a secpkg.PACInfo: what a Kerberos ticket's PAC said.
type wirePAC struct {
	UserSID            string   `cbor:"user_sid,omitzero"`
	GroupSIDs          []string `cbor:"group_sids,omitzero"`
	EffectiveName      string   `cbor:"effective_name,omitzero"`
	FullName           string   `cbor:"full_name,omitzero"`
	LogonDomainName    string   `cbor:"logon_domain_name,omitzero"`
	LogonServer        string   `cbor:"logon_server,omitzero"`
	UserFlags          uint32   `cbor:"user_flags,omitzero"`
	UserAccountControl uint32   `cbor:"user_account_control,omitzero"`
	ClientName         string   `cbor:"client_name,omitzero"`
	UPN                string   `cbor:"upn,omitzero"`
	DNSDomain          string   `cbor:"dns_domain,omitzero"`
}

func toWirePAC(p *secpkg.PACInfo) *wirePAC {
	if p == nil {
		return nil
	}
	return &wirePAC{UserSID: p.UserSID, GroupSIDs: p.GroupSIDs, EffectiveName: p.EffectiveName, FullName: p.FullName,
		LogonDomainName: p.LogonDomainName, LogonServer: p.LogonServer, UserFlags: p.UserFlags, UserAccountControl: p.UserAccountControl,
		ClientName: p.ClientName, UPN: p.UPN, DNSDomain: p.DNSDomain}
}

func (w *wirePAC) info() *secpkg.PACInfo {
	if w == nil {
		return nil
	}
	return &secpkg.PACInfo{UserSID: w.UserSID, GroupSIDs: w.GroupSIDs, EffectiveName: w.EffectiveName, FullName: w.FullName,
		LogonDomainName: w.LogonDomainName, LogonServer: w.LogonServer, UserFlags: w.UserFlags, UserAccountControl: w.UserAccountControl,
		ClientName: w.ClientName, UPN: w.UPN, DNSDomain: w.DNSDomain}
}

// wireAttributes is a secpkg.ContextAttributes.
type wireAttributes struct {
	UserName          string              `cbor:"user_name,omitzero"`
	ClientName        string              `cbor:"client_name,omitzero"`
	ServerName        string              `cbor:"server_name,omitzero"`
	Start             time.Time           `cbor:"start,omitzero"`
	Expiry            time.Time           `cbor:"expiry,omitzero"`
	NegotiatedPackage string              `cbor:"negotiated_package,omitzero"`
	NegotiationState  uint32              `cbor:"negotiation_state,omitzero"`
	Sizes             wireSizes           `cbor:"sizes,omitzero"`
	StreamSizes       wireStreamSizes     `cbor:"stream_sizes,omitzero"`
	Identity          *wireClientIdentity `cbor:"identity,omitzero"`
}

func toWireAttributes(a *secpkg.ContextAttributes) *wireAttributes {
	if a == nil {
		return nil
	}
	w := &wireAttributes{UserName: a.UserName, ClientName: a.ClientName, ServerName: a.ServerName,
		Start: utc(a.Start), Expiry: utc(a.Expiry), NegotiatedPackage: a.NegotiatedPackage, NegotiationState: uint32(a.NegotiationState),
		Sizes:       wireSizes{MaxToken: a.Sizes.MaxToken, MaxSignature: a.Sizes.MaxSignature, BlockSize: a.Sizes.BlockSize, SecurityTrailer: a.Sizes.SecurityTrailer},
		StreamSizes: wireStreamSizes{Header: a.StreamSizes.Header, Trailer: a.StreamSizes.Trailer, MaximumMessage: a.StreamSizes.MaximumMessage, Buffers: a.StreamSizes.Buffers, BlockSize: a.StreamSizes.BlockSize},
	}
	if id := a.Identity; id != nil {
		w.Identity = &wireClientIdentity{User: id.User, Domain: id.Domain, Package: id.Package, Groups: id.Groups, Flags: uint64(id.Flags),
			Expiry: utc(id.Expiry), Anonymous: id.Anonymous, Workstation: id.Workstation, Bindings: uint32(id.Bindings), LogonID: uint64(id.LogonID),
			PAC: toWirePAC(id.PAC)}
	}
	return w
}

func (w *wireAttributes) attributes() *secpkg.ContextAttributes {
	if w == nil {
		return nil
	}
	a := &secpkg.ContextAttributes{UserName: w.UserName, ClientName: w.ClientName, ServerName: w.ServerName,
		Start: w.Start, Expiry: w.Expiry, NegotiatedPackage: w.NegotiatedPackage, NegotiationState: secpkg.NegotiationState(w.NegotiationState),
		Sizes:       secpkg.Sizes{MaxToken: w.Sizes.MaxToken, MaxSignature: w.Sizes.MaxSignature, BlockSize: w.Sizes.BlockSize, SecurityTrailer: w.Sizes.SecurityTrailer},
		StreamSizes: secpkg.StreamSizes{Header: w.StreamSizes.Header, Trailer: w.StreamSizes.Trailer, MaximumMessage: w.StreamSizes.MaximumMessage, Buffers: w.StreamSizes.Buffers, BlockSize: w.StreamSizes.BlockSize},
	}
	if id := w.Identity; id != nil {
		a.Identity = &secpkg.Identity{User: id.User, Domain: id.Domain, Package: id.Package, Groups: id.Groups, Flags: secpkg.ASCFlags(id.Flags),
			Expiry: id.Expiry, Anonymous: id.Anonymous, Workstation: id.Workstation, Bindings: secpkg.ChannelBindingResult(id.Bindings), LogonID: secpkg.LogonID(id.LogonID),
			PAC: id.PAC.info()}
	}
	return a
}

// contextReply is an lsa.ContextReply: the result of one leg.
type contextReply struct {
	Context    wireHandle      `cbor:"context,omitzero"`
	Status     uint32          `cbor:"status,omitzero"`
	Token      []byte          `cbor:"token,omitzero"`
	Flags      uint32          `cbor:"flags,omitzero"`
	Expiry     time.Time       `cbor:"expiry,omitzero"`
	Packed     []byte          `cbor:"packed,omitzero"`
	Attributes *wireAttributes `cbor:"attributes,omitzero"`
	Repeatable bool            `cbor:"repeatable,omitzero"`
}

func toContextReply(r *lsa.ContextReply) *contextReply {
	return &contextReply{Context: toWireHandle(r.Context), Status: uint32(r.Status), Token: r.Token, Flags: uint32(r.Flags),
		Expiry: utc(r.Expiry), Packed: r.Packed, Attributes: toWireAttributes(r.Attributes), Repeatable: r.Repeatable}
}

func (w *contextReply) reply() *lsa.ContextReply {
	return &lsa.ContextReply{Context: w.Context.handle(), Status: secpkg.Status(w.Status), Token: w.Token, Flags: secpkg.ContextFlags(w.Flags),
		Expiry: w.Expiry, Packed: w.Packed, Attributes: w.Attributes.attributes(), Repeatable: w.Repeatable}
}

// messageRequest is an lsa.MessageRequest.
type messageRequest struct {
	Context wireHandle   `cbor:"context,omitzero"`
	Op      uint8        `cbor:"op,omitzero"`
	QOP     uint32       `cbor:"qop,omitzero"`
	Seq     uint32       `cbor:"seq,omitzero"`
	Buffers []wireBuffer `cbor:"buffers,omitzero"`
}

func toMessageRequest(r *lsa.MessageRequest) *messageRequest {
	return &messageRequest{Context: toWireHandle(r.Context), Op: uint8(r.Op), QOP: r.QOP, Seq: r.Seq, Buffers: toWireBuffers(r.Buffers)}
}

func (w *messageRequest) request() *lsa.MessageRequest {
	return &lsa.MessageRequest{Context: w.Context.handle(), Op: lsa.MessageOp(w.Op), QOP: w.QOP, Seq: w.Seq, Buffers: buffers(w.Buffers)}
}

// messageReply is an lsa.MessageReply.
type messageReply struct {
	Buffers []wireBuffer `cbor:"buffers,omitzero"`
	QOP     uint32       `cbor:"qop,omitzero"`
}

func toMessageReply(r *lsa.MessageReply) *messageReply {
	return &messageReply{Buffers: toWireBuffers(r.Buffers), QOP: r.QOP}
}

func (w *messageReply) reply() *lsa.MessageReply {
	return &lsa.MessageReply{Buffers: buffers(w.Buffers), QOP: w.QOP}
}

// importReply is an lsa.ImportReply.
type importReply struct {
	Context    wireHandle      `cbor:"context,omitzero"`
	Package    string          `cbor:"package,omitzero"`
	Packed     []byte          `cbor:"packed,omitzero"`
	Flags      uint32          `cbor:"flags,omitzero"`
	Attributes *wireAttributes `cbor:"attributes,omitzero"`
}

func toImportReply(r *lsa.ImportReply) *importReply {
	return &importReply{Context: toWireHandle(r.Context), Package: r.Package, Packed: r.Packed, Flags: uint32(r.Flags), Attributes: toWireAttributes(r.Attributes)}
}

func (w *importReply) reply() *lsa.ImportReply {
	return &lsa.ImportReply{Context: w.Context.handle(), Package: w.Package, Packed: w.Packed, Flags: secpkg.ContextFlags(w.Flags), Attributes: w.Attributes.attributes()}
}

// logonRequest is an lsa.LogonUserRequest.
type logonRequest struct {
	Package  string       `cbor:"package,omitzero"`
	Identity wireIdentity `cbor:"identity,omitzero"`
	Type     uint8        `cbor:"type,omitzero"` // secpkg.LogonType
}

// wireLogonSession is an lsa.LogonSessionInfo.
type wireLogonSession struct {
	LogonID     uint64               `cbor:"logon_id,omitzero"`
	UID         uint32               `cbor:"uid,omitzero"`
	User        string               `cbor:"user,omitzero"`
	Domain      string               `cbor:"domain,omitzero"`
	Package     string               `cbor:"package,omitzero"`
	Created     time.Time            `cbor:"created,omitzero"`
	Expires     time.Time            `cbor:"expires,omitzero"`
	Network     bool                 `cbor:"network,omitzero"`
	Credentials []wireCredentialInfo `cbor:"credentials,omitzero"`
}

// wireCredentialInfo is a secpkg.CredentialInfo: one credential of a
// logon session, as klist lists a ticket (never a key).
type wireCredentialInfo struct {
	Package     string    `cbor:"package,omitzero"`
	Client      string    `cbor:"client,omitzero"`
	Server      string    `cbor:"server,omitzero"`
	Start       time.Time `cbor:"start,omitzero"`
	End         time.Time `cbor:"end,omitzero"`
	RenewTill   time.Time `cbor:"renew_till,omitzero"`
	Flags       string    `cbor:"flags,omitzero"`
	EType       string    `cbor:"etype,omitzero"`
	TicketEType string    `cbor:"ticket_etype,omitzero"`
}

func toWireLogonSession(s *lsa.LogonSessionInfo) wireLogonSession {
	w := wireLogonSession{LogonID: uint64(s.LogonID), UID: s.UID, User: s.User, Domain: s.Domain, Package: s.Package, Created: utc(s.Created),
		Expires: utc(s.Expires), Network: s.Network}
	for _, c := range s.Credentials {
		w.Credentials = append(w.Credentials, wireCredentialInfo{Package: c.Package, Client: c.Client, Server: c.Server,
			Start: utc(c.Start), End: utc(c.End), RenewTill: utc(c.RenewTill), Flags: c.Flags, EType: c.EType, TicketEType: c.TicketEType})
	}
	return w
}

func (w *wireLogonSession) info() lsa.LogonSessionInfo {
	s := lsa.LogonSessionInfo{LogonID: secpkg.LogonID(w.LogonID), UID: w.UID, User: w.User, Domain: w.Domain, Package: w.Package, Created: w.Created,
		Expires: w.Expires, Network: w.Network}
	for _, c := range w.Credentials {
		s.Credentials = append(s.Credentials, secpkg.CredentialInfo{Package: c.Package, Client: c.Client, Server: c.Server,
			Start: c.Start, End: c.End, RenewTill: c.RenewTill, Flags: c.Flags, EType: c.EType, TicketEType: c.TicketEType})
	}
	return s
}

// sessionsReply is the LogonSessions reply.
type sessionsReply struct {
	Sessions []wireLogonSession `cbor:"sessions,omitzero"`
}

// accountRequest is an lsa.AccountRequest.
type accountRequest struct {
	Domain   string   `cbor:"domain,omitzero"`
	User     string   `cbor:"user,omitzero"`
	Password []byte   `cbor:"password,omitzero"`
	Groups   []string `cbor:"groups,omitzero"`
	Disabled bool     `cbor:"disabled,omitzero"`
	Packages []string `cbor:"packages,omitzero"`
}

func (w *accountRequest) request() *lsa.AccountRequest {
	return &lsa.AccountRequest{Domain: w.Domain, User: w.User, Password: w.Password, Groups: w.Groups, Disabled: w.Disabled, Packages: w.Packages}
}

// wireAccount is an lsa.AccountInfo.
type wireAccount struct {
	Domain      string    `cbor:"domain,omitzero"`
	User        string    `cbor:"user,omitzero"`
	Groups      []string  `cbor:"groups,omitzero"`
	Disabled    bool      `cbor:"disabled,omitzero"`
	Packages    []string  `cbor:"packages,omitzero"`
	Failures    int64     `cbor:"failures,omitzero"`
	LockedUntil time.Time `cbor:"locked_until,omitzero"`
	Created     time.Time `cbor:"created,omitzero"`
	Updated     time.Time `cbor:"updated,omitzero"`
}

// accountsReply is the ListAccounts reply.
type accountsReply struct {
	Accounts []wireAccount `cbor:"accounts,omitzero"`
}

func toAccountsReply(as []lsa.AccountInfo) *accountsReply {
	r := &accountsReply{Accounts: make([]wireAccount, len(as))}
	for i, a := range as {
		r.Accounts[i] = wireAccount{Domain: a.Domain, User: a.User, Groups: a.Groups, Disabled: a.Disabled, Packages: a.Packages,
			Failures: int64(a.Failures), LockedUntil: utc(a.LockedUntil), Created: utc(a.Created), Updated: utc(a.Updated)}
	}
	return r
}

func (r *accountsReply) accounts() []lsa.AccountInfo {
	out := make([]lsa.AccountInfo, len(r.Accounts))
	for i, a := range r.Accounts {
		out[i] = lsa.AccountInfo{Domain: a.Domain, User: a.User, Groups: a.Groups, Disabled: a.Disabled, Packages: a.Packages,
			Failures: int(a.Failures), LockedUntil: a.LockedUntil, Created: a.Created, Updated: a.Updated}
	}
	return out
}

// statsRequest is an lsa.StatsRequest.
type statsRequest struct {
	GC bool `cbor:"gc,omitzero"`
}

// wireEngineStats is an lsa.Stats.
type wireEngineStats struct {
	Conns         int64 `cbor:"conns,omitzero"`
	Credentials   int64 `cbor:"credentials,omitzero"`
	Contexts      int64 `cbor:"contexts,omitzero"`
	Exports       int64 `cbor:"exports,omitzero"`
	LogonSessions int64 `cbor:"logon_sessions,omitzero"`
	Registrations int64 `cbor:"registrations,omitzero"`
}

// statsReply is an lsa.StatsReply.
type statsReply struct {
	Engine      wireEngineStats `cbor:"engine,omitzero"`
	Goroutines  int64           `cbor:"goroutines,omitzero"`
	HeapAlloc   uint64          `cbor:"heap_alloc,omitzero"`
	HeapObjects uint64          `cbor:"heap_objects,omitzero"`
	Sys         uint64          `cbor:"sys,omitzero"`
	OpenFiles   int64           `cbor:"open_files,omitzero"`
	Calls       uint64          `cbor:"calls,omitzero"`
}

func toStatsReply(r *lsa.StatsReply) *statsReply {
	e := r.Engine
	return &statsReply{
		Engine: wireEngineStats{Conns: int64(e.Conns), Credentials: int64(e.Credentials), Contexts: int64(e.Contexts), Exports: int64(e.Exports),
			LogonSessions: int64(e.LogonSessions), Registrations: int64(e.Registrations)},
		Goroutines: int64(r.Goroutines), HeapAlloc: r.HeapAlloc, HeapObjects: r.HeapObjects, Sys: r.Sys, OpenFiles: int64(r.OpenFiles), Calls: r.Calls,
	}
}

func (w *statsReply) reply() *lsa.StatsReply {
	e := w.Engine
	return &lsa.StatsReply{
		Engine: lsa.Stats{Conns: int(e.Conns), Credentials: int(e.Credentials), Contexts: int(e.Contexts), Exports: int(e.Exports),
			LogonSessions: int(e.LogonSessions), Registrations: int(e.Registrations)},
		Goroutines: int(w.Goroutines), HeapAlloc: w.HeapAlloc, HeapObjects: w.HeapObjects, Sys: w.Sys, OpenFiles: int(w.OpenFiles), Calls: w.Calls,
	}
}

// Bodies of the operations that name a handle and little else.

// handleBody names one handle (QueryCredentials, FreeCredentials,
// DeleteContext, QuerySessionKey).
type handleBody struct {
	Handle wireHandle `cbor:"handle,omitzero"`
}

// controlTokenBody is ApplyControlToken's.
type controlTokenBody struct {
	Handle  wireHandle   `cbor:"handle,omitzero"`
	Buffers []wireBuffer `cbor:"buffers,omitzero"`
}

// callPackageBody is CallPackage's.
type callPackageBody struct {
	Handle wireHandle `cbor:"handle,omitzero"`
	ID     uint32     `cbor:"id,omitzero"`
	Input  []byte     `cbor:"input,omitzero"`
}

// exportBody is ExportContext's.
type exportBody struct {
	Handle wireHandle `cbor:"handle,omitzero"`
	Packed []byte     `cbor:"packed,omitzero"`
}

// bytesBody carries one byte string: the QuerySessionKey, CallPackage and
// ExportContext replies, the ImportContext request.
type bytesBody struct {
	Data []byte `cbor:"data,omitzero"`
}

// accountBody names an account (DeleteAccount, UnlockAccount).
type accountBody struct {
	Domain string `cbor:"domain,omitzero"`
	User   string `cbor:"user,omitzero"`
}

// logoffBody is Logoff's.
type logoffBody struct {
	LogonID uint64 `cbor:"logon_id,omitzero"`
}

// Registration (lsa.Registration) and registration codes.

// beginRegistrationRequest is an lsa.BeginRegistrationRequest.
type beginRegistrationRequest struct {
	Package string `cbor:"package,omitzero"`
	Domain  string `cbor:"domain,omitzero"`
	User    string `cbor:"user,omitzero"`
	Token   []byte `cbor:"token,omitzero"`
	Code    string `cbor:"code,omitzero"`
}

func toBeginRegistrationRequest(r *lsa.BeginRegistrationRequest) *beginRegistrationRequest {
	return &beginRegistrationRequest{Package: r.Package, Domain: r.Domain, User: r.User, Token: r.Token, Code: r.Code}
}

func (w *beginRegistrationRequest) request() *lsa.BeginRegistrationRequest {
	return &lsa.BeginRegistrationRequest{Package: w.Package, Domain: w.Domain, User: w.User, Token: w.Token, Code: w.Code}
}

// beginRegistrationReply is an lsa.BeginRegistrationReply.
type beginRegistrationReply struct {
	Registration wireHandle `cbor:"registration,omitzero"`
	Token        []byte     `cbor:"token,omitzero"`
	Expiry       time.Time  `cbor:"expiry,omitzero"`
}

func toBeginRegistrationReply(r *lsa.BeginRegistrationReply) *beginRegistrationReply {
	return &beginRegistrationReply{Registration: toWireHandle(r.Registration), Token: r.Token, Expiry: utc(r.Expiry)}
}

func (w *beginRegistrationReply) reply() *lsa.BeginRegistrationReply {
	return &lsa.BeginRegistrationReply{Registration: w.Registration.handle(), Token: w.Token, Expiry: w.Expiry}
}

// finishRegistrationRequest is an lsa.FinishRegistrationRequest.
type finishRegistrationRequest struct {
	Registration wireHandle `cbor:"registration,omitzero"`
	Token        []byte     `cbor:"token,omitzero"`
}

func toFinishRegistrationRequest(r *lsa.FinishRegistrationRequest) *finishRegistrationRequest {
	return &finishRegistrationRequest{Registration: toWireHandle(r.Registration), Token: r.Token}
}

func (w *finishRegistrationRequest) request() *lsa.FinishRegistrationRequest {
	return &lsa.FinishRegistrationRequest{Registration: w.Registration.handle(), Token: w.Token}
}

// registrationCodeRequest is an lsa.RegistrationCodeRequest; the
// lifetime in whole seconds (0: the LSA's default).
type registrationCodeRequest struct {
	Domain   string `cbor:"domain,omitzero"`
	User     string `cbor:"user,omitzero"`
	Package  string `cbor:"package,omitzero"`
	Lifetime uint64 `cbor:"lifetime,omitzero"`
}

func toRegistrationCodeRequest(r *lsa.RegistrationCodeRequest) *registrationCodeRequest {
	w := &registrationCodeRequest{Domain: r.Domain, User: r.User, Package: r.Package}
	if r.Lifetime > 0 {
		w.Lifetime = uint64((r.Lifetime + time.Second - 1) / time.Second)
	}
	return w
}

func (w *registrationCodeRequest) request() *lsa.RegistrationCodeRequest {
	life := time.Duration(min(w.Lifetime, uint64(math.MaxInt64/int64(time.Second)))) * time.Second
	return &lsa.RegistrationCodeRequest{Domain: w.Domain, User: w.User, Package: w.Package, Lifetime: life}
}

// registrationCodeReply is an lsa.RegistrationCodeReply.
type registrationCodeReply struct {
	Code    string    `cbor:"code,omitzero"`
	Expires time.Time `cbor:"expires,omitzero"`
}

func toRegistrationCodeReply(r *lsa.RegistrationCodeReply) *registrationCodeReply {
	return &registrationCodeReply{Code: r.Code, Expires: utc(r.Expires)}
}

func (w *registrationCodeReply) reply() *lsa.RegistrationCodeReply {
	return &lsa.RegistrationCodeReply{Code: w.Code, Expires: w.Expires}
}
