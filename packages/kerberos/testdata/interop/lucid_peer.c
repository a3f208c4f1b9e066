/*
 * lucid_peer.c -- MIT krb5 peer for the RFC 4121 per-message interop tests
 * of packages/kerberos (msgstate_interop_test.go), and the MIT anchor of
 * its benchmarks.
 *
 * Build (the test does this itself):
 *   gcc -O2 -o lucid_peer lucid_peer.c $(krb5-config --cflags --libs gssapi)
 *
 * Usage:
 *   lucid_peer go-initiator|go-acceptor mutual|nomutual
 *       Establishes an MIT-to-MIT krb5 context through the KDC in this
 *       process (initiator: $PEER_PRINCIPAL with $PEER_PASSWORD, TGT in a
 *       MEMORY: ccache; acceptor: $PEER_SERVICE from the keytab in
 *       KRB5_KTNAME; with $PEER_ENCTYPE, gss_krb5_set_allowable_enctypes
 *       limits the session key and both subkeys to that enctype), exports the side the Go test plays with
 *       gss_krb5_export_lucid_sec_context, prints it as one line
 *         CTX <initiate> <protocol> <have_acceptor_subkey> <enctype> <key hex>
 *             <send_seq> <recv_seq> <ret_flags hex>
 *       (the key is the acceptor subkey if there is one, else the context
 *       key), and then serves the other side over stdin/stdout, one
 *       command per line, hex data, "-" for empty:
 *         WRAP <conf 0|1> <msg>        -> TOK <token>
 *         UNWRAP <token>               -> OK <conf> <msg>  | ERR <major> <minor>
 *         MIC <msg>                    -> TOK <token>
 *         VERIFY <msg> <token>         -> OK               | ERR <major> <minor>
 *         WRAPIOV <assoc> <msg>        -> TOK <header> <data>   (gss_wrap_iov:
 *                                         HEADER, SIGN_ONLY, DATA, no TRAILER)
 *         UNWRAPIOV <header> <assoc> <data> -> OK <conf> <msg> | ERR ...
 *   lucid_peer bench <size> <seconds>
 *       gss_wrap + gss_unwrap (conf) on an MIT-to-MIT context, single
 *       thread, as the project's anchor bench_gss.c measures it; prints
 *         BENCH <size> <iterations> <ns per wrap+unwrap>
 *   lucid_peer benchloop <size>
 *       The same loop, driven by the Go benchmark so that it alternates
 *       with the Go side: prints "ready" once the context is made, then
 *       for each line "run N" on stdin makes N wrap+unwrap pairs and
 *       prints "done N <nanoseconds of the loop alone>".
 *
 * Errors go to stderr; a fatal one exits 1.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

static void die(const char *what, OM_uint32 maj, OM_uint32 min)
{
    OM_uint32 ctx = 0, m;
    gss_buffer_desc b;
    fprintf(stderr, "lucid_peer: %s failed: maj=0x%x min=%u\n", what, maj, min);
    do {
        gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &b);
        fprintf(stderr, "  %.*s\n", (int)b.length, (char *)b.value);
        gss_release_buffer(&m, &b);
    } while (ctx);
    do {
        gss_display_status(&m, min, GSS_C_MECH_CODE, &krb5_oid, &ctx, &b);
        fprintf(stderr, "  %.*s\n", (int)b.length, (char *)b.value);
        gss_release_buffer(&m, &b);
    } while (ctx);
    exit(1);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "lucid_peer: %s not set\n", name);
        exit(1);
    }
    return v;
}

/* Credentials of both sides, acquired once. */
static gss_cred_id_t icred, acred;
static gss_name_t target;

static void acquire(void)
{
    OM_uint32 maj, min;
    gss_buffer_desc nb, pw;
    gss_name_t user;
    gss_OID_set_desc mset = {1, &krb5_oid};

    setenv("KRB5CCNAME", "MEMORY:lucid_peer", 1);
    nb.value = (void *)env("PEER_SERVICE");
    nb.length = strlen(nb.value);
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (maj)
        die("gss_import_name(service)", maj, min);
    nb.value = (void *)env("PEER_PRINCIPAL");
    nb.length = strlen(nb.value);
    maj = gss_import_name(&min, &nb, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &user);
    if (maj)
        die("gss_import_name(user)", maj, min);
    pw.value = (void *)env("PEER_PASSWORD");
    pw.length = strlen(pw.value);
    maj = gss_acquire_cred_with_password(&min, user, &pw, 0, &mset, GSS_C_INITIATE,
                                         &icred, NULL, NULL);
    if (maj)
        die("gss_acquire_cred_with_password", maj, min);
    gss_release_name(&min, &user);
    maj = gss_acquire_cred(&min, target, 0, &mset, GSS_C_ACCEPT, &acred, NULL, NULL);
    if (maj)
        die("gss_acquire_cred(accept)", maj, min);
    if (getenv("PEER_ENCTYPE") != NULL) {
        /* Both sides may use only this enctype for the session key and the
         * subkeys; the ticket itself stays under the service's usual key. */
        krb5_enctype et = (krb5_enctype)atoi(getenv("PEER_ENCTYPE"));
        maj = gss_krb5_set_allowable_enctypes(&min, icred, 1, &et);
        if (maj)
            die("gss_krb5_set_allowable_enctypes(initiate)", maj, min);
        maj = gss_krb5_set_allowable_enctypes(&min, acred, 1, &et);
        if (maj)
            die("gss_krb5_set_allowable_enctypes(accept)", maj, min);
    }
}

/* Establishes a context pair; returns the acceptor's ret_flags. */
static OM_uint32 handshake(gss_ctx_id_t *ic, gss_ctx_id_t *ac, int mutual)
{
    OM_uint32 maj, min, imaj, amaj = GSS_S_CONTINUE_NEEDED, aflags = 0;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 flags = GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG |
                      GSS_C_INTEG_FLAG | (mutual ? GSS_C_MUTUAL_FLAG : 0);

    *ic = *ac = GSS_C_NO_CONTEXT;
    for (;;) {
        imaj = gss_init_sec_context(&min, icred, ic, target, &krb5_oid, flags, 0,
                                    GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out,
                                    NULL, NULL);
        if (in.value)
            gss_release_buffer(&maj, &in);
        if (GSS_ERROR(imaj))
            die("gss_init_sec_context", imaj, min);
        if (out.length == 0)
            break;
        in = out;
        out.value = NULL;
        out.length = 0;
        amaj = gss_accept_sec_context(&min, ac, acred, &in, GSS_C_NO_CHANNEL_BINDINGS,
                                      NULL, NULL, &out, &aflags, NULL, NULL);
        gss_release_buffer(&maj, &in);
        if (GSS_ERROR(amaj))
            die("gss_accept_sec_context", amaj, min);
        if (out.length == 0)
            break;
        in = out;
        out.value = NULL;
        out.length = 0;
    }
    if (imaj != GSS_S_COMPLETE || amaj != GSS_S_COMPLETE) {
        fprintf(stderr, "lucid_peer: handshake incomplete: init=0x%x accept=0x%x\n", imaj, amaj);
        exit(1);
    }
    return aflags;
}

static void puthex(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    if (n == 0) {
        fputc('-', stdout);
        return;
    }
    for (i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the hex word s ("-" is empty) into a malloc'd buffer. */
static gss_buffer_desc unhex(const char *s)
{
    gss_buffer_desc b = {0, NULL};
    size_t n, i;
    if (s == NULL || strcmp(s, "-") == 0)
        return b;
    n = strlen(s);
    if (n % 2) {
        fprintf(stderr, "lucid_peer: odd hex\n");
        exit(1);
    }
    b.length = n / 2;
    b.value = malloc(b.length + 1);
    for (i = 0; i < b.length; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "lucid_peer: bad hex\n");
            exit(1);
        }
        ((unsigned char *)b.value)[i] = (unsigned char)(hi << 4 | lo);
    }
    return b;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(size_t size, double seconds)
{
    OM_uint32 maj, min;
    gss_ctx_id_t ic, ac;
    gss_buffer_desc m, tok, pt;
    unsigned char *msg = malloc(size ? size : 1);
    size_t k;
    long n = 0;
    double t0, dl, dt;

    handshake(&ic, &ac, 1);
    for (k = 0; k < size; k++)
        msg[k] = (unsigned char)(k * 131 + 7);
    m.length = size;
    m.value = msg;
    /* warm up and check */
    maj = gss_wrap(&min, ic, 1, GSS_C_QOP_DEFAULT, &m, NULL, &tok);
    if (maj)
        die("gss_wrap", maj, min);
    maj = gss_unwrap(&min, ac, &tok, &pt, NULL, NULL);
    if (maj || pt.length != size || memcmp(pt.value, msg, size))
        die("gss_unwrap", maj, min);
    gss_release_buffer(&min, &tok);
    gss_release_buffer(&min, &pt);
    t0 = now();
    dl = t0 + seconds;
    for (;;) {
        maj = gss_wrap(&min, ic, 1, GSS_C_QOP_DEFAULT, &m, NULL, &tok);
        if (maj)
            die("gss_wrap", maj, min);
        maj = gss_unwrap(&min, ac, &tok, &pt, NULL, NULL);
        if (maj)
            die("gss_unwrap", maj, min);
        gss_release_buffer(&min, &tok);
        gss_release_buffer(&min, &pt);
        if (++n % 64 == 0 && now() >= dl)
            break;
    }
    dt = now() - t0;
    printf("BENCH %zu %ld %.1f\n", size, n, dt / n * 1e9);
    return 0;
}

static void wrap_unwrap(gss_ctx_id_t ic, gss_ctx_id_t ac, gss_buffer_desc *m)
{
    OM_uint32 maj, min;
    gss_buffer_desc tok, pt;
    maj = gss_wrap(&min, ic, 1, GSS_C_QOP_DEFAULT, m, NULL, &tok);
    if (maj)
        die("gss_wrap", maj, min);
    maj = gss_unwrap(&min, ac, &tok, &pt, NULL, NULL);
    if (maj)
        die("gss_unwrap", maj, min);
    gss_release_buffer(&min, &tok);
    gss_release_buffer(&min, &pt);
}

static int benchloop(size_t size)
{
    gss_ctx_id_t ic, ac;
    gss_buffer_desc m;
    unsigned char *msg = malloc(size ? size : 1);
    size_t k;
    long n, i;
    double t0;
    char line[64];

    handshake(&ic, &ac, 1);
    for (k = 0; k < size; k++)
        msg[k] = (unsigned char)(k * 131 + 7);
    m.length = size;
    m.value = msg;
    wrap_unwrap(ic, ac, &m);
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (sscanf(line, "run %ld", &n) != 1 || n < 0)
            return 1;
        t0 = now();
        for (i = 0; i < n; i++)
            wrap_unwrap(ic, ac, &m);
        printf("done %ld %.0f\n", n, (now() - t0) * 1e9);
        fflush(stdout);
    }
    return 0;
}

static void reply_err(OM_uint32 maj, OM_uint32 min)
{
    printf("ERR 0x%x %u\n", maj, min);
}

int main(int argc, char **argv)
{
    OM_uint32 maj, min, flags;
    gss_ctx_id_t ic, ac, peer, *lucid_side;
    void *lucid;
    gss_krb5_lucid_context_v1_t *lc;
    gss_krb5_lucid_key_t *key;
    int go_initiator, mutual;
    char *line = NULL;
    size_t cap = 0;

    if (argc == 4 && strcmp(argv[1], "bench") == 0) {
        acquire();
        return bench(strtoul(argv[2], NULL, 10), atof(argv[3]));
    }
    if (argc == 3 && strcmp(argv[1], "benchloop") == 0) {
        acquire();
        return benchloop(strtoul(argv[2], NULL, 10));
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s go-initiator|go-acceptor mutual|nomutual\n"
                        "       %s bench SIZE SECONDS\n"
                        "       %s benchloop SIZE\n", argv[0], argv[0], argv[0]);
        return 2;
    }
    go_initiator = strcmp(argv[1], "go-initiator") == 0;
    mutual = strcmp(argv[2], "mutual") == 0;
    acquire();
    flags = handshake(&ic, &ac, mutual);

    lucid_side = go_initiator ? &ic : &ac;
    peer = go_initiator ? ac : ic;
    maj = gss_krb5_export_lucid_sec_context(&min, lucid_side, 1, &lucid);
    if (maj)
        die("gss_krb5_export_lucid_sec_context", maj, min);
    lc = lucid;
    key = lc->cfx_kd.have_acceptor_subkey ? &lc->cfx_kd.acceptor_subkey : &lc->cfx_kd.ctx_key;
    printf("CTX %u %u %u %u ", lc->initiate, lc->protocol, lc->cfx_kd.have_acceptor_subkey,
           key->type);
    puthex(key->data, key->length);
    printf(" %llu %llu %x\n", (unsigned long long)lc->send_seq,
           (unsigned long long)lc->recv_seq, flags);
    fflush(stdout);
    gss_krb5_free_lucid_sec_context(&min, lucid);

    while (getline(&line, &cap, stdin) > 0) {
        char *cmd = strtok(line, " \n"), *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n"),
             *a3 = strtok(NULL, " \n");
        gss_buffer_desc in, in2, out = GSS_C_EMPTY_BUFFER;
        int conf = 0;

        if (cmd == NULL)
            continue;
        if (strcmp(cmd, "QUIT") == 0)
            break;
        if (strcmp(cmd, "WRAP") == 0) {
            in = unhex(a2);
            maj = gss_wrap(&min, peer, a1 && a1[0] == '1', GSS_C_QOP_DEFAULT, &in, &conf, &out);
            if (maj)
                reply_err(maj, min);
            else {
                printf("TOK ");
                puthex(out.value, out.length);
                printf("\n");
            }
        } else if (strcmp(cmd, "UNWRAP") == 0) {
            in = unhex(a1);
            maj = gss_unwrap(&min, peer, &in, &out, &conf, NULL);
            if (maj)
                reply_err(maj, min);
            else {
                printf("OK %d ", conf);
                puthex(out.value, out.length);
                printf("\n");
            }
        } else if (strcmp(cmd, "MIC") == 0) {
            in = unhex(a1);
            maj = gss_get_mic(&min, peer, GSS_C_QOP_DEFAULT, &in, &out);
            if (maj)
                reply_err(maj, min);
            else {
                printf("TOK ");
                puthex(out.value, out.length);
                printf("\n");
            }
        } else if (strcmp(cmd, "VERIFY") == 0) {
            in = unhex(a1);
            in2 = unhex(a2);
            maj = gss_verify_mic(&min, peer, &in, &in2, NULL);
            if (maj)
                reply_err(maj, min);
            else
                printf("OK\n");
            free(in2.value);
        } else if (strcmp(cmd, "WRAPIOV") == 0) {
            gss_iov_buffer_desc iov[3];
            in = unhex(a1);
            in2 = unhex(a2);
            iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE;
            iov[0].buffer.length = 0;
            iov[0].buffer.value = NULL;
            iov[1].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
            iov[1].buffer = in;
            iov[2].type = GSS_IOV_BUFFER_TYPE_DATA;
            iov[2].buffer = in2;
            maj = gss_wrap_iov(&min, peer, 1, GSS_C_QOP_DEFAULT, &conf, iov, 3);
            if (maj)
                reply_err(maj, min);
            else {
                printf("TOK ");
                puthex(iov[0].buffer.value, iov[0].buffer.length);
                printf(" ");
                puthex(iov[2].buffer.value, iov[2].buffer.length);
                printf("\n");
                gss_release_iov_buffer(&min, iov, 1);
            }
            free(in2.value);
        } else if (strcmp(cmd, "UNWRAPIOV") == 0) {
            gss_iov_buffer_desc iov[3];
            gss_buffer_desc hdr = unhex(a1);
            in = unhex(a2);
            in2 = unhex(a3);
            iov[0].type = GSS_IOV_BUFFER_TYPE_HEADER;
            iov[0].buffer = hdr;
            iov[1].type = GSS_IOV_BUFFER_TYPE_SIGN_ONLY;
            iov[1].buffer = in;
            iov[2].type = GSS_IOV_BUFFER_TYPE_DATA;
            iov[2].buffer = in2;
            maj = gss_unwrap_iov(&min, peer, &conf, NULL, iov, 3);
            if (maj)
                reply_err(maj, min);
            else {
                printf("OK %d ", conf);
                puthex(iov[2].buffer.value, iov[2].buffer.length);
                printf("\n");
            }
            free(hdr.value);
            free(in2.value);
        } else {
            fprintf(stderr, "lucid_peer: unknown command %s\n", cmd);
            return 1;
        }
        free(in.value);
        if (out.value)
            gss_release_buffer(&min, &out);
        fflush(stdout);
    }
    free(line);
    gss_delete_sec_context(&min, &peer, NULL);
    return 0;
}
