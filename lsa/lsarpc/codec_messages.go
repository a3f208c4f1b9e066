package lsarpc

// The hand-written encodings of the messages every handshake carries
// (codec.go). Each appendCBOR adds the keys in the order RFC 8949 4.2.1
// sorts them (shorter first, then bytewise), as encMode does; each
// decodeCBOR takes them in any order.

// wireEncoder is a wire body with a hand-written encoding.
type wireEncoder interface{ appendCBOR(b []byte) []byte }

// wireDecoder is a wire body with a hand-written decoding.
type wireDecoder interface{ decodeCBOR(d *decoder) error }

// appendBody appends the encoding of a wire body.
func appendBody(b []byte, v any) ([]byte, error) {
	if e, ok := v.(wireEncoder); ok {
		return e.appendCBOR(b), nil
	}
	enc, err := encMode.Marshal(v)
	return append(b, enc...), err
}

// decodeBody decodes a wire body (all of b) into v.
func decodeBody(b []byte, v any) error {
	if w, ok := v.(wireDecoder); ok {
		d := decoder{b: b}
		if err := w.decodeCBOR(&d); err != nil {
			return err
		}
		return d.end()
	}
	return decMode.Unmarshal(b, v)
}

func (h wireHandle) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("id", h.ID)
	m.uint("epoch", h.Epoch)
	return m.end()
}

func (h *wireHandle) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "id":
			h.ID, err = d.uint64()
		case "epoch":
			h.Epoch, err = d.uint64()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *handleBody) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.value("handle", w.Handle.appendCBOR)
	return m.end()
}

func (w *handleBody) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		if string(k) == "handle" {
			err = w.Handle.decodeCBOR(d)
		} else {
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wireBindings) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.bytes("acceptor_address", w.AcceptorAddress)
	m.bytes("application_data", w.ApplicationData)
	m.bytes("initiator_address", w.InitiatorAddress)
	m.uint("acceptor_addr_type", uint64(w.AcceptorAddrType))
	m.uint("initiator_addr_type", uint64(w.InitiatorAddrType))
	return m.end()
}

func (w *wireBindings) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "acceptor_address":
			w.AcceptorAddress, err = d.bytes()
		case "application_data":
			w.ApplicationData, err = d.bytes()
		case "initiator_address":
			w.InitiatorAddress, err = d.bytes()
		case "acceptor_addr_type":
			w.AcceptorAddrType, err = d.uint32()
		case "initiator_addr_type":
			w.InitiatorAddrType, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

// decodeBindings reads optional bindings: null leaves them absent.
func decodeBindings(d *decoder) (*wireBindings, error) {
	if d.null() {
		return nil, nil
	}
	w := new(wireBindings)
	return w, w.decodeCBOR(d)
}

func (w *initializeRequest) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("flags", w.Flags)
	m.bytes("token", w.Token)
	m.text("target", w.Target)
	m.bool("can_map", w.CanMap)
	m.value("context", w.Context.appendCBOR)
	if w.Bindings != nil {
		m.key("bindings")
		m.b = w.Bindings.appendCBOR(m.b)
	}
	m.uint("data_rep", uint64(w.DataRep))
	m.value("credential", w.Credential.appendCBOR)
	m.bytes("sent_token", w.SentToken)
	return m.end()
}

func (w *initializeRequest) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "flags":
			w.Flags, err = d.uint64()
		case "token":
			w.Token, err = d.bytes()
		case "target":
			w.Target, err = d.text()
		case "can_map":
			w.CanMap, err = d.bool()
		case "context":
			err = w.Context.decodeCBOR(d)
		case "bindings":
			w.Bindings, err = decodeBindings(d)
		case "data_rep":
			w.DataRep, err = d.uint32()
		case "credential":
			err = w.Credential.decodeCBOR(d)
		case "sent_token":
			w.SentToken, err = d.bytes()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *acceptRequest) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("flags", w.Flags)
	m.bytes("token", w.Token)
	m.bool("can_map", w.CanMap)
	m.value("context", w.Context.appendCBOR)
	if w.Bindings != nil {
		m.key("bindings")
		m.b = w.Bindings.appendCBOR(m.b)
	}
	m.uint("data_rep", uint64(w.DataRep))
	m.value("credential", w.Credential.appendCBOR)
	return m.end()
}

func (w *acceptRequest) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "flags":
			w.Flags, err = d.uint64()
		case "token":
			w.Token, err = d.bytes()
		case "can_map":
			w.CanMap, err = d.bool()
		case "context":
			err = w.Context.decodeCBOR(d)
		case "bindings":
			w.Bindings, err = decodeBindings(d)
		case "data_rep":
			w.DataRep, err = d.uint32()
		case "credential":
			err = w.Credential.decodeCBOR(d)
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wireSizes) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("max_token", uint64(w.MaxToken))
	m.uint("block_size", uint64(w.BlockSize))
	m.uint("max_signature", uint64(w.MaxSignature))
	m.uint("security_trailer", uint64(w.SecurityTrailer))
	return m.end()
}

func (w *wireSizes) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "max_token":
			w.MaxToken, err = d.uint32()
		case "block_size":
			w.BlockSize, err = d.uint32()
		case "max_signature":
			w.MaxSignature, err = d.uint32()
		case "security_trailer":
			w.SecurityTrailer, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wireStreamSizes) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("header", uint64(w.Header))
	m.uint("buffers", uint64(w.Buffers))
	m.uint("trailer", uint64(w.Trailer))
	m.uint("block_size", uint64(w.BlockSize))
	m.uint("maximum_message", uint64(w.MaximumMessage))
	return m.end()
}

func (w *wireStreamSizes) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "header":
			w.Header, err = d.uint32()
		case "buffers":
			w.Buffers, err = d.uint32()
		case "trailer":
			w.Trailer, err = d.uint32()
		case "block_size":
			w.BlockSize, err = d.uint32()
		case "maximum_message":
			w.MaximumMessage, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wireClientIdentity) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	if w.PAC != nil {
		m.value("pac", w.PAC.appendCBOR)
	}
	m.text("user", w.User)
	m.uint("flags", w.Flags)
	m.text("domain", w.Domain)
	m.time("expiry", w.Expiry)
	if w.Groups != nil {
		m.key("groups")
		m.b = appendTexts(m.b, w.Groups)
	}
	m.text("package", w.Package)
	m.uint("bindings", uint64(w.Bindings))
	m.uint("logon_id", w.LogonID)
	m.bool("anonymous", w.Anonymous)
	m.text("workstation", w.Workstation)
	return m.end()
}

func (w *wireClientIdentity) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "user":
			w.User, err = d.text()
		case "flags":
			w.Flags, err = d.uint64()
		case "domain":
			w.Domain, err = d.text()
		case "expiry":
			w.Expiry, err = d.time()
		case "groups":
			w.Groups, err = d.texts()
		case "package":
			w.Package, err = d.text()
		case "bindings":
			w.Bindings, err = d.uint32()
		case "logon_id":
			w.LogonID, err = d.uint64()
		case "anonymous":
			w.Anonymous, err = d.bool()
		case "workstation":
			w.Workstation, err = d.text()
		case "pac":
			if !d.null() {
				w.PAC = new(wirePAC)
				err = w.PAC.decodeCBOR(d)
			}
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wirePAC) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.text("upn", w.UPN)
	m.text("user_sid", w.UserSID)
	m.text("full_name", w.FullName)
	m.text("dns_domain", w.DNSDomain)
	if w.GroupSIDs != nil {
		m.key("group_sids")
		m.b = appendTexts(m.b, w.GroupSIDs)
	}
	m.uint("user_flags", uint64(w.UserFlags))
	m.text("client_name", w.ClientName)
	m.text("logon_server", w.LogonServer)
	m.text("effective_name", w.EffectiveName)
	m.text("logon_domain_name", w.LogonDomainName)
	m.uint("user_account_control", uint64(w.UserAccountControl))
	return m.end()
}

func (w *wirePAC) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "upn":
			w.UPN, err = d.text()
		case "user_sid":
			w.UserSID, err = d.text()
		case "full_name":
			w.FullName, err = d.text()
		case "dns_domain":
			w.DNSDomain, err = d.text()
		case "group_sids":
			w.GroupSIDs, err = d.texts()
		case "user_flags":
			w.UserFlags, err = d.uint32()
		case "client_name":
			w.ClientName, err = d.text()
		case "logon_server":
			w.LogonServer, err = d.text()
		case "effective_name":
			w.EffectiveName, err = d.text()
		case "logon_domain_name":
			w.LogonDomainName, err = d.text()
		case "user_account_control":
			w.UserAccountControl, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

// appendTexts appends an array of text strings.
func appendTexts(b []byte, ss []string) []byte {
	b = appendHead(b, majorArray, uint64(len(ss)))
	for _, s := range ss {
		b = appendText(b, s)
	}
	return b
}

// texts reads an array of text strings.
func (d *decoder) texts() ([]string, error) {
	if d.null() {
		return nil, nil
	}
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	if n > len(d.b) {
		return nil, cborError("more elements than bytes")
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = d.text(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *wireAttributes) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.value("sizes", w.Sizes.appendCBOR)
	m.time("start", w.Start)
	m.time("expiry", w.Expiry)
	if w.Identity != nil {
		m.key("identity")
		m.b = w.Identity.appendCBOR(m.b)
	}
	m.text("user_name", w.UserName)
	m.text("client_name", w.ClientName)
	m.text("server_name", w.ServerName)
	m.value("stream_sizes", w.StreamSizes.appendCBOR)
	m.uint("negotiation_state", uint64(w.NegotiationState))
	m.text("negotiated_package", w.NegotiatedPackage)
	return m.end()
}

func (w *wireAttributes) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "sizes":
			err = w.Sizes.decodeCBOR(d)
		case "start":
			w.Start, err = d.time()
		case "expiry":
			w.Expiry, err = d.time()
		case "identity":
			if !d.null() {
				w.Identity = new(wireClientIdentity)
				err = w.Identity.decodeCBOR(d)
			}
		case "user_name":
			w.UserName, err = d.text()
		case "client_name":
			w.ClientName, err = d.text()
		case "server_name":
			w.ServerName, err = d.text()
		case "stream_sizes":
			err = w.StreamSizes.decodeCBOR(d)
		case "negotiation_state":
			w.NegotiationState, err = d.uint32()
		case "negotiated_package":
			w.NegotiatedPackage, err = d.text()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *contextReply) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("flags", uint64(w.Flags))
	m.bytes("token", w.Token)
	m.time("expiry", w.Expiry)
	m.bytes("packed", w.Packed)
	m.uint("status", uint64(w.Status))
	m.value("context", w.Context.appendCBOR)
	if w.Attributes != nil {
		m.key("attributes")
		m.b = w.Attributes.appendCBOR(m.b)
	}
	m.bool("repeatable", w.Repeatable)
	return m.end()
}

func (w *contextReply) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "flags":
			w.Flags, err = d.uint32()
		case "token":
			w.Token, err = d.bytes()
		case "expiry":
			w.Expiry, err = d.time()
		case "packed":
			w.Packed, err = d.bytes()
		case "status":
			w.Status, err = d.uint32()
		case "context":
			err = w.Context.decodeCBOR(d)
		case "attributes":
			if !d.null() {
				w.Attributes = new(wireAttributes)
				err = w.Attributes.decodeCBOR(d)
			}
		case "repeatable":
			w.Repeatable, err = d.bool()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *wireBuffer) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.bytes("data", w.Data)
	m.uint("type", uint64(w.Type))
	return m.end()
}

func (w *wireBuffer) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "data":
			w.Data, err = d.bytes()
		case "type":
			w.Type, err = d.uint32()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func appendBuffers(b []byte, bs []wireBuffer) []byte {
	b = appendHead(b, majorArray, uint64(len(bs)))
	for i := range bs {
		b = bs[i].appendCBOR(b)
	}
	return b
}

func (d *decoder) buffers() ([]wireBuffer, error) {
	if d.null() {
		return nil, nil
	}
	n, err := d.arrayLen()
	if err != nil {
		return nil, err
	}
	if n > len(d.b) {
		return nil, cborError("more elements than bytes")
	}
	if d.depth++; d.depth > maxNesting {
		return nil, cborError("nested deeper than %d", maxNesting)
	}
	defer func() { d.depth-- }()
	out := make([]wireBuffer, n)
	for i := range out {
		if err := out[i].decodeCBOR(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *messageRequest) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("op", uint64(w.Op))
	m.uint("qop", uint64(w.QOP))
	m.uint("seq", uint64(w.Seq))
	if w.Buffers != nil {
		m.key("buffers")
		m.b = appendBuffers(m.b, w.Buffers)
	}
	m.value("context", w.Context.appendCBOR)
	return m.end()
}

func (w *messageRequest) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "op":
			var v uint64
			v, err = d.uint(255)
			w.Op = uint8(v)
		case "qop":
			w.QOP, err = d.uint32()
		case "seq":
			w.Seq, err = d.uint32()
		case "buffers":
			w.Buffers, err = d.buffers()
		case "context":
			err = w.Context.decodeCBOR(d)
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}

func (w *messageReply) appendCBOR(b []byte) []byte {
	m := beginMap(b)
	m.uint("qop", uint64(w.QOP))
	if w.Buffers != nil {
		m.key("buffers")
		m.b = appendBuffers(m.b, w.Buffers)
	}
	return m.end()
}

func (w *messageReply) decodeCBOR(d *decoder) error {
	m, err := d.beginMap()
	for k := m.next(&err); k != nil; k = m.next(&err) {
		switch string(k) {
		case "qop":
			w.QOP, err = d.uint32()
		case "buffers":
			w.Buffers, err = d.buffers()
		default:
			err = d.skip()
		}
	}
	return m.end(err)
}
