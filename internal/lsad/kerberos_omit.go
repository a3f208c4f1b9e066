//go:build sspi_omit_kerberos

package lsad

import (
	"errors"

	"github.com/opensspi/sspi/secpkg"
)

// kerberosPackage refuses a [kerberos] section in an lsad built without
// Kerberos.
func (c *KerberosConfig) kerberosPackage() (secpkg.Package, error) {
	if len(c.Krb5Conf) == 0 && len(c.Keytabs) == 0 && c.ClockSkew.Duration == 0 && c.ChannelBindings == "" &&
		c.Delegation == "" && c.KDCTimeout.Duration == 0 && c.MaxCachedTickets == 0 && !c.InsecureLegacyETypes {
		return nil, nil
	}
	return nil, errors.New("lsad: config: [kerberos] is set, but this lsad is built without Kerberos")
}
