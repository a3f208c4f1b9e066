/*
 * bench_ntlm.c -- gss-ntlmssp's side of the comparative benchmark
 * (interop/bench_test.go). Initiator and acceptor live in this one process
 * and call MIT GSS-API directly, which loads gss-ntlmssp for the NTLM OID;
 * no sockets, one thread.
 *
 *   bench_ntlm handshake     N full handshakes (NEGOTIATE, CHALLENGE,
 *                            AUTHENTICATE; fresh contexts each time,
 *                            credentials acquired once)
 *   bench_ntlm wrap SIZE     N gss_wrap (conf) + gss_unwrap pairs of SIZE
 *                            bytes on one established context
 *
 * After setting up it prints "ready"; then, for each line "run N" on
 * stdin, it runs N iterations and prints "done N NANOSECONDS RATE/s", the
 * time of the loop alone. The Go benchmark picks N, as it does for its own
 * loops. By hand:
 *
 *   echo "run 20000" | NTLM_USER_FILE=... BENCH_NTLM_PASSWORD=... ./bench_ntlm handshake
 *
 * Credentials: the initiator's come from gss_acquire_cred_with_password
 * (EXAMPLE\alice, password in $BENCH_NTLM_PASSWORD); the acceptor checks
 * them against NTLM_USER_FILE, which gss-ntlmssp reads on every accept.
 *
 * Build: gcc -O2 -o bench_ntlm bench_ntlm.c $(krb5-config --cflags --libs gssapi)
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static gss_OID_desc ntlm_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_name_t target;
static gss_cred_id_t icred, acred;

static void die(const char *what, OM_uint32 maj, OM_uint32 min)
{
    OM_uint32 ctx = 0, m;
    gss_buffer_desc b;
    fprintf(stderr, "bench_ntlm: %s failed: major %#x minor %u\n", what, maj, min);
    do {
        gss_display_status(&m, min, GSS_C_MECH_CODE, &ntlm_oid, &ctx, &b);
        fprintf(stderr, "  %.*s\n", (int)b.length, (char *)b.value);
        gss_release_buffer(&m, &b);
    } while (ctx);
    exit(1);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* handshake runs one whole context establishment, passing each token to
 * the other side until both are complete, and returns both contexts. */
static void handshake(gss_ctx_id_t *ic, gss_ctx_id_t *ac)
{
    OM_uint32 imaj, amaj = GSS_S_CONTINUE_NEEDED, min, m;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    *ic = *ac = GSS_C_NO_CONTEXT;
    for (;;) {
        imaj = gss_init_sec_context(&min, icred, ic, target, &ntlm_oid,
                                    GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG,
                                    0, GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
        gss_release_buffer(&m, &in);
        if (GSS_ERROR(imaj))
            die("gss_init_sec_context", imaj, min);
        if (out.length == 0)
            break;
        amaj = gss_accept_sec_context(&min, ac, acred, &out, GSS_C_NO_CHANNEL_BINDINGS,
                                      NULL, NULL, &in, NULL, NULL, NULL);
        gss_release_buffer(&m, &out);
        if (GSS_ERROR(amaj))
            die("gss_accept_sec_context", amaj, min);
        if (in.length == 0)
            break;
    }
    if (imaj != GSS_S_COMPLETE || amaj != GSS_S_COMPLETE) {
        fprintf(stderr, "bench_ntlm: handshake incomplete (%#x, %#x)\n", imaj, amaj);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    OM_uint32 maj, min;
    gss_OID_set_desc mechs = {1, &ntlm_oid};
    gss_ctx_id_t ic, ac;
    int wrap = argc == 3 && strcmp(argv[1], "wrap") == 0;
    if (!wrap && (argc != 2 || strcmp(argv[1], "handshake") != 0)) {
        fprintf(stderr, "usage: bench_ntlm handshake | bench_ntlm wrap SIZE\n");
        return 2;
    }
    size_t size = wrap ? strtoul(argv[2], NULL, 10) : 0;

    gss_buffer_desc nb = {strlen("HTTP@server.example.com"), "HTTP@server.example.com"};
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (GSS_ERROR(maj))
        die("gss_import_name", maj, min);
    gss_name_t user;
    gss_buffer_desc ub = {strlen("EXAMPLE\\alice"), "EXAMPLE\\alice"};
    maj = gss_import_name(&min, &ub, GSS_C_NT_USER_NAME, &user);
    if (GSS_ERROR(maj))
        die("gss_import_name(user)", maj, min);
    const char *pw = getenv("BENCH_NTLM_PASSWORD");
    if (!pw) {
        fprintf(stderr, "bench_ntlm: BENCH_NTLM_PASSWORD is not set\n");
        return 2;
    }
    gss_buffer_desc pwb = {strlen(pw), (void *)pw};
    maj = gss_acquire_cred_with_password(&min, user, &pwb, 0, &mechs, GSS_C_INITIATE, &icred, NULL, NULL);
    if (GSS_ERROR(maj))
        die("gss_acquire_cred_with_password", maj, min);
    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, 0, &mechs, GSS_C_ACCEPT, &acred, NULL, NULL);
    if (GSS_ERROR(maj))
        die("gss_acquire_cred(accept)", maj, min);

    handshake(&ic, &ac); /* warm-up, and the context for wrap */
    unsigned char *msg = NULL;
    gss_buffer_desc mb = GSS_C_EMPTY_BUFFER, tok, pt;
    if (wrap) {
        msg = malloc(size);
        for (size_t k = 0; k < size; k++)
            msg[k] = (unsigned char)(k * 131 + 7);
        mb.length = size;
        mb.value = msg;
        /* check the round trip once */
        maj = gss_wrap(&min, ic, 1, GSS_C_QOP_DEFAULT, &mb, NULL, &tok);
        if (GSS_ERROR(maj))
            die("gss_wrap", maj, min);
        maj = gss_unwrap(&min, ac, &tok, &pt, NULL, NULL);
        if (GSS_ERROR(maj) || pt.length != size || memcmp(pt.value, msg, size) != 0)
            die("gss_unwrap", maj, min);
        gss_release_buffer(&min, &tok);
        gss_release_buffer(&min, &pt);
    } else {
        gss_delete_sec_context(&min, &ic, NULL);
        gss_delete_sec_context(&min, &ac, NULL);
    }
    printf("ready\n");
    fflush(stdout);

    char line[64];
    long n;
    while (fgets(line, sizeof line, stdin) && sscanf(line, "run %ld", &n) == 1) {
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (wrap) {
                maj = gss_wrap(&min, ic, 1, GSS_C_QOP_DEFAULT, &mb, NULL, &tok);
                if (GSS_ERROR(maj))
                    die("gss_wrap", maj, min);
                maj = gss_unwrap(&min, ac, &tok, &pt, NULL, NULL);
                if (GSS_ERROR(maj))
                    die("gss_unwrap", maj, min);
                gss_release_buffer(&min, &tok);
                gss_release_buffer(&min, &pt);
            } else {
                handshake(&ic, &ac);
                gss_delete_sec_context(&min, &ic, NULL);
                gss_delete_sec_context(&min, &ac, NULL);
            }
        }
        long long dt = now_ns() - t0;
        printf("done %ld %lld %.1f/s\n", n, dt, dt > 0 ? n * 1e9 / dt : 0.0);
        fflush(stdout);
    }
    free(msg);
    return 0;
}
