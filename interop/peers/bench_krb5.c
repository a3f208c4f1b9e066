/*
 * bench_krb5.c -- MIT krb5's side of the Kerberos benchmarks
 * (internal/lsad/e2e_kerberos_bench_test.go): whole GSS-API context
 * establishments through libgssapi_krb5, initiator and acceptor in this one
 * process, one thread. Derived from the project's anchor bench_gss.c.
 *
 *   bench_krb5 handshake [TARGET]
 *       N handshakes: gss_init_sec_context (mutual, replay, sequence, conf,
 *       integ) with the default initiator credentials, whose ccache holds
 *       the service ticket after the warm-up handshake; gss_accept_sec_context
 *       with the default acceptor credentials (KRB5_KTNAME) and MIT's replay
 *       cache (KRB5RCACHEDIR, the file rcache2); both contexts deleted.
 *       TARGET is a host-based service name, host@localhost by default.
 *
 * After setting up (credentials acquired once, one warm-up handshake) it
 * prints "ready"; then, for each line "run N" on stdin, it runs N handshakes
 * and prints "done N NANOSECONDS RATE/s", the time of the loop alone. The Go
 * benchmark picks N, as for its own loops.
 *
 * The same binary measures gssproxy: with GSS_USE_PROXY=yes and
 * GSSPROXY_SOCKET naming a service of cred_usage "both", MIT's interposer
 * sends every init and accept to the gssproxy daemon, which holds the keytabs
 * and the ccache.
 *
 * Build: gcc -O2 -o bench_krb5 bench_krb5.c $(krb5-config --cflags --libs gssapi)
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
static gss_name_t target;
static gss_cred_id_t icred, acred;

static void die(const char *what, OM_uint32 maj, OM_uint32 min)
{
    OM_uint32 ctx = 0, m;
    gss_buffer_desc b;
    fprintf(stderr, "bench_krb5: %s failed: major %#x minor %u\n", what, maj, min);
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

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* handshake runs one context establishment and deletes both contexts. */
static void handshake(void)
{
    OM_uint32 maj, min, imaj, amaj;
    gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    OM_uint32 flags = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG |
                      GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG;
    for (;;) {
        imaj = gss_init_sec_context(&min, icred, &ic, target, &krb5_oid, flags, 0,
                                    GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
        if (in.value) gss_release_buffer(&maj, &in);
        if (GSS_ERROR(imaj)) die("gss_init_sec_context", imaj, min);
        if (out.length == 0) break;
        in = out;
        out.value = NULL;
        out.length = 0;
        amaj = gss_accept_sec_context(&min, &ac, acred, &in, GSS_C_NO_CHANNEL_BINDINGS,
                                      NULL, NULL, &out, NULL, NULL, NULL);
        gss_release_buffer(&maj, &in);
        if (GSS_ERROR(amaj)) die("gss_accept_sec_context", amaj, min);
        if (out.length == 0) break;
        in = out;
        out.value = NULL;
        out.length = 0;
        if (imaj == GSS_S_COMPLETE) die("initiator complete with a token to read", 0, 0);
    }
    gss_delete_sec_context(&min, &ic, NULL);
    gss_delete_sec_context(&min, &ac, NULL);
}

int main(int argc, char **argv)
{
    OM_uint32 maj, min;
    if (argc < 2 || strcmp(argv[1], "handshake") != 0) {
        fprintf(stderr, "usage: %s handshake [TARGET]\n", argv[0]);
        return 2;
    }
    const char *name = argc > 2 ? argv[2] : "host@localhost";
    gss_buffer_desc nb = {strlen(name), (void *)name};
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (maj) die("gss_import_name", maj, min);
    gss_OID_set_desc mset = {1, &krb5_oid};
    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, 0, &mset, GSS_C_INITIATE, &icred, NULL, NULL);
    if (maj) die("gss_acquire_cred(initiate)", maj, min);
    maj = gss_acquire_cred(&min, GSS_C_NO_NAME, 0, &mset, GSS_C_ACCEPT, &acred, NULL, NULL);
    if (maj) die("gss_acquire_cred(accept)", maj, min);
    handshake(); /* warm-up: the service ticket is fetched and cached */
    printf("ready\n");
    fflush(stdout);

    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        long n;
        if (sscanf(line, "run %ld", &n) != 1 || n <= 0) {
            fprintf(stderr, "bench_krb5: bad command %s", line);
            return 2;
        }
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) handshake();
        long long dt = now_ns() - t0;
        printf("done %ld %lld %.1f/s\n", n, dt, n / (dt / 1e9));
        fflush(stdout);
    }
    return 0;
}
