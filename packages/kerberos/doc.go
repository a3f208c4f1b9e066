// Package kerberos is the Kerberos V5 security package (Windows'
// "Kerberos", RFC 4120 and the GSS-API mechanism of RFC 4121).
package kerberos
