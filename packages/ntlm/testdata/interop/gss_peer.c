/*
 * gss_peer.c -- a GSS-API NTLM peer (gss-ntlmssp through libgssapi_krb5)
 * for TestInteropGSSNTLMSSP. It speaks a line protocol on stdin/stdout:
 * every token or message is one line of lowercase hex ("-" for empty).
 *
 *   gss_peer accept            acceptor: reads tokens, writes answers;
 *                              prints "done <client name>" when established
 *   gss_peer init <service@host> [cb-hex]
 *                              initiator: writes the first token, then
 *                              answers each token read; prints "done"
 *   then, on either side:
 *     "wrap <hex>"   -> sealed token (gss_wrap, conf requested)
 *     "unwrap <hex>" -> plaintext, or "error" if it does not verify
 *     "mic <hex>"    -> gss_get_mic token
 *     "verify <msg-hex> <mic-hex>" -> "ok" or "error"
 *     "spnegomic <hex>", "spnegoverify <msg-hex> <mic-hex>": mic and verify
 *                    as MIT's SPNEGO does them for the mechListMIC, each
 *                    followed by GSS_NTLMSSP_RESET_CRYPTO_OID (value 0:
 *                    the sending RC4 state, 1: the receiving one)
 *
 * Build: gcc -O2 -o gss_peer gss_peer.c $(krb5-config --cflags --libs gssapi)
 * Users come from NTLM_USER_FILE (DOMAIN:USER:PASSWORD), gss-ntlmssp's
 * plain-text user database.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc ntlm_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
/* GSS_NTLMSSP_RESET_CRYPTO_OID, 1.3.6.1.4.1.7165.655.1.3 (gssapi_ntlmssp.h) */
static gss_OID_desc reset_crypto_oid = {11, "\x2b\x06\x01\x04\x01\xb7\x7d\x85\x0f\x01\x03"};

/* reset_crypto re-initializes one RC4 state of ctx, as MIT's SPNEGO does
 * after a mechListMIC (MS-SPNG 3.3.5.1). */
static OM_uint32 reset_crypto(gss_ctx_id_t ctx, uint32_t which)
{
    OM_uint32 min;
    gss_buffer_desc v = {sizeof which, &which};
    return gss_set_sec_context_option(&min, &ctx, &reset_crypto_oid, &v);
}

static void die(const char *what, OM_uint32 maj, OM_uint32 min)
{
    OM_uint32 ctx = 0, m;
    gss_buffer_desc b;
    fprintf(stderr, "gss_peer: %s failed: maj=0x%x min=%u\n", what, maj, min);
    do {
        gss_display_status(&m, min, GSS_C_MECH_CODE, &ntlm_oid, &ctx, &b);
        fprintf(stderr, "  %.*s\n", (int)b.length, (char *)b.value);
        gss_release_buffer(&m, &b);
    } while (ctx);
    printf("error\n");
    fflush(stdout);
    exit(1);
}

static char line[1 << 20];

static int readhex(gss_buffer_desc *out, const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    if (n == 1 && s[0] == '-') {
        out->length = 0;
        out->value = NULL;
        return 0;
    }
    out->length = n / 2;
    out->value = malloc(out->length + 1);
    for (size_t i = 0; i < out->length; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        ((unsigned char *)out->value)[i] = v;
    }
    return 0;
}

static void writehex(const char *prefix, gss_buffer_desc *b)
{
    printf("%s", prefix);
    if (b->length == 0)
        printf("-");
    for (size_t i = 0; i < b->length; i++)
        printf("%02x", ((unsigned char *)b->value)[i]);
    printf("\n");
    fflush(stdout);
}

static int nextline(void)
{
    return fgets(line, sizeof line, stdin) != NULL;
}

int main(int argc, char **argv)
{
    OM_uint32 maj, min, flags = 0;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    gss_OID_set_desc mechs = {1, &ntlm_oid};
    if (argc < 2)
        return 2;
    if (strcmp(argv[1], "accept") == 0) {
        gss_cred_id_t cred;
        gss_name_t src;
        maj = gss_acquire_cred(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT, &cred, NULL, NULL);
        if (GSS_ERROR(maj))
            die("gss_acquire_cred", maj, min);
        do {
            if (!nextline())
                return 1;
            readhex(&in, line);
            maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, &src, NULL, &out, &flags, NULL, NULL);
            if (GSS_ERROR(maj))
                die("gss_accept_sec_context", maj, min);
            if (out.length || maj == GSS_S_CONTINUE_NEEDED)
                writehex("", &out);
        } while (maj == GSS_S_CONTINUE_NEEDED);
        gss_buffer_desc name;
        gss_display_name(&min, src, &name, NULL);
        printf("done %.*s\n", (int)name.length, (char *)name.value);
        fflush(stdout);
    } else {
        gss_name_t target;
        gss_buffer_desc tn = {strlen(argv[2]), argv[2]};
        struct gss_channel_bindings_struct cb;
        gss_channel_bindings_t cbp = GSS_C_NO_CHANNEL_BINDINGS;
        if (argc > 3) {
            memset(&cb, 0, sizeof cb);
            readhex(&cb.application_data, argv[3]);
            cbp = &cb;
        }
        maj = gss_import_name(&min, &tn, GSS_C_NT_HOSTBASED_SERVICE, &target);
        if (GSS_ERROR(maj))
            die("gss_import_name", maj, min);
        for (;;) {
            maj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &ctx, target, &ntlm_oid,
                                       GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG,
                                       0, cbp, &in, NULL, &out, &flags, NULL);
            if (GSS_ERROR(maj))
                die("gss_init_sec_context", maj, min);
            if (out.length)
                writehex("", &out);
            if (maj != GSS_S_CONTINUE_NEEDED)
                break;
            if (!nextline())
                return 1;
            readhex(&in, line);
        }
        printf("done\n");
        fflush(stdout);
    }
    while (nextline()) {
        gss_buffer_desc a, b, o;
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp++ = 0;
        if (strcmp(line, "wrap") == 0) {
            int conf;
            readhex(&a, sp);
            maj = gss_wrap(&min, ctx, 1, GSS_C_QOP_DEFAULT, &a, &conf, &o);
            if (GSS_ERROR(maj))
                die("gss_wrap", maj, min);
            writehex("", &o);
        } else if (strcmp(line, "unwrap") == 0) {
            readhex(&a, sp);
            maj = gss_unwrap(&min, ctx, &a, &o, NULL, NULL);
            if (GSS_ERROR(maj)) {
                printf("error\n");
                fflush(stdout);
                continue;
            }
            writehex("", &o);
        } else if (strcmp(line, "mic") == 0) {
            readhex(&a, sp);
            maj = gss_get_mic(&min, ctx, GSS_C_QOP_DEFAULT, &a, &o);
            if (GSS_ERROR(maj))
                die("gss_get_mic", maj, min);
            writehex("", &o);
        } else if (strcmp(line, "spnegomic") == 0) {
            readhex(&a, sp);
            maj = gss_get_mic(&min, ctx, GSS_C_QOP_DEFAULT, &a, &o);
            if (GSS_ERROR(maj))
                die("gss_get_mic", maj, min);
            maj = reset_crypto(ctx, 0);
            if (GSS_ERROR(maj))
                die("gss_set_sec_context_option", maj, 0);
            writehex("", &o);
        } else if (strcmp(line, "spnegoverify") == 0) {
            char *sp2 = strchr(sp, ' ');
            *sp2++ = 0;
            readhex(&a, sp);
            readhex(&b, sp2);
            maj = gss_verify_mic(&min, ctx, &a, &b, NULL);
            if (!GSS_ERROR(maj))
                maj = reset_crypto(ctx, 1);
            printf(GSS_ERROR(maj) ? "error\n" : "ok\n");
            fflush(stdout);
        } else if (strcmp(line, "verify") == 0) {
            char *sp2 = strchr(sp, ' ');
            *sp2++ = 0;
            readhex(&a, sp);
            readhex(&b, sp2);
            maj = gss_verify_mic(&min, ctx, &a, &b, NULL);
            printf(GSS_ERROR(maj) ? "error\n" : "ok\n");
            fflush(stdout);
        }
    }
    return 0;
}
