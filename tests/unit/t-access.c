/* t-access.c - what the daemon records and how (vaultfs/access.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/access.h"
#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditverify.h"
#include "../../vaultfs/seal.h"

static char tmpdir[] = "/tmp/t-access.XXXXXX";
static uint8_t pk[AUDITREC_PK_BYTES], sk[AUDITREC_SK_BYTES];
static struct vault_settings vs;

/* What the verifier hands back, copied. */
#define MAX_RECS 16
#define STR_MAX (AUDIT_EXE_MAX + 1)

struct got {
	int n;
	struct audit_record r[MAX_RECS];
	char comm[MAX_RECS][AUDIT_COMM_MAX + 1];
	char exe[MAX_RECS][STR_MAX];
	char path[MAX_RECS][64];
	int comm_null[MAX_RECS], exe_null[MAX_RECS];
	uint64_t damage;
};

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	struct got *g = arg;
	int i = g->n;

	(void)pos;
	if (i >= MAX_RECS)
		return 0;
	g->r[i] = *r;
	g->comm_null[i] = r->comm == NULL;
	g->exe_null[i] = r->exe == NULL;
	snprintf(g->comm[i], sizeof(g->comm[i]), "%s", r->comm ? r->comm : "");
	snprintf(g->exe[i], sizeof(g->exe[i]), "%s", r->exe ? r->exe : "");
	snprintf(g->path[i], sizeof(g->path[i]), "%s", r->path ? r->path : "");
	g->n++;
	return 0;
}

static int on_finding(void *arg, const struct audit_problem *p)
{
	(void)arg;
	(void)p;
	return 0;
}

static struct got *read_back(int dfd)
{
	static const struct auditverify_callbacks cbs = { on_record, on_finding };
	struct auditverify_summary sum;
	struct got *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if (auditverify_run(dfd, sk, pk, vs.vault_id, &cbs, g, &sum) != 0) {
		free(g);
		return NULL;
	}
	g->damage = sum.damage;
	return g;
}

static int new_audit_dir(const char *sub)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, sub);
	if (mkdir(path, 0700) < 0)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Our own name and executable as /proc shows them. */
static void self_who(char comm[AUDIT_COMM_MAX + 1], char exe[STR_MAX])
{
	ssize_t n = readlink("/proc/self/exe", exe, STR_MAX - 1);
	FILE *f;

	exe[n > 0 ? n : 0] = '\0';
	comm[0] = '\0';
	f = fopen("/proc/self/comm", "r");
	if (f != NULL) {
		if (fgets(comm, AUDIT_COMM_MAX + 1, f) == NULL)
			comm[0] = '\0';
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = '\0';
}

/* A pid that is not running: a child, reaped. */
static uint32_t gone_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	if (p < 0)
		return 0;
	waitpid(p, NULL, 0);
	return (uint32_t)p;
}

static void test_who(void)
{
	char comm[AUDIT_COMM_MAX + 1], exe[AUDIT_EXE_MAX + 1];
	char want_comm[AUDIT_COMM_MAX + 1], want_exe[STR_MAX];
	uint32_t gone = gone_pid();

	self_who(want_comm, want_exe);
	memset(comm, 'x', sizeof(comm));
	memset(exe, 'x', sizeof(exe));
	access_who(0, comm, exe);
	ok(comm[0] == '\0' && exe[0] == '\0', "pid 0: nothing");

	access_who((uint32_t)getpid(), comm, exe);
	ok(want_exe[0] != '\0' && strcmp(exe, want_exe) == 0,
	   "own executable from /proc");
	ok(want_comm[0] != '\0' && strcmp(comm, want_comm) == 0,
	   "own process name from /proc");
	/* Twice: the second comes from the cache, and must be the same. */
	access_who((uint32_t)getpid(), comm, exe);
	ok(strcmp(comm, want_comm) == 0 && strcmp(exe, want_exe) == 0,
	   "second look-up the same");

	ok(gone != 0, "made a pid that has exited");
	memset(comm, 'x', sizeof(comm));
	memset(exe, 'x', sizeof(exe));
	access_who(gone, comm, exe);
	ok(comm[0] == '\0' && exe[0] == '\0', "exited pid: empty strings");
}

static void test_records(void)
{
	char want_comm[AUDIT_COMM_MAX + 1], want_exe[STR_MAX];
	char long_comm[AUDIT_COMM_MAX + 50];
	static const uint8_t id[AUDITREC_DOC_ID_BYTES] = { 1, 2, 3, 4, 5 };
	struct auditlog *log = NULL;
	struct got *g;
	int dfd = new_audit_dir("records");

	self_who(want_comm, want_exe);
	memset(long_comm, 'c', sizeof(long_comm) - 1);
	long_comm[sizeof(long_comm) - 1] = '\0';

	is_int(access_record(NULL, &(struct access_event){
		.event = AUDIT_EV_OPEN, .path = "/x" }), 0,
	       "no log: nothing recorded, no error");
	access_close(NULL, &(struct access_event){ .event = AUDIT_EV_UNMOUNT });
	ok(1, "access_close(NULL) is a no-op");

	ok(auditlog_open(dfd, &vs, NULL, &log) == 0, "open a log");
	/* 0: process known already (a close through its handle) */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_CLOSE, .uid = 1000, .gid = 100, .pid = 4242,
		.path = "/a/b.txt", .doc_id = id, .bytes_read = 77,
		.bytes_written = 9, .open_flags = O_RDWR,
		.comm = "cat", .exe = "/usr/bin/cat" }) == 0, "close record");
	/* 1: from /proc: our own pid */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_SETATTR, .uid = 1, .gid = 2,
		.pid = (uint32_t)getpid(), .path = "/a/c",
		.detail = "mode=0600" }) == 0, "record read from /proc");
	/* 2: empty strings given: absent */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_CLOSE, .pid = 5, .path = "/d",
		.comm = "", .exe = "" }) == 0, "empty comm and exe");
	/* 3: only comm given: exe stays absent, /proc is not read */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_CLOSE, .pid = (uint32_t)getpid(),
		.path = "/e", .comm = "given" }) == 0, "only comm given");
	/* 4: over-long comm: clipped and flagged */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_CLOSE, .pid = 6, .path = "/f",
		.comm = long_comm, .exe = "/bin/x" }) == 0, "long comm");
	/* 5: a pid that is gone */
	ok(access_record(log, &(struct access_event){
		.event = AUDIT_EV_UNLINK, .pid = gone_pid(), .path = "/g",
		.result = -ENOENT }) == 0, "record for an exited pid");
	ok(access_close(log, &(struct access_event){
		.event = AUDIT_EV_UNMOUNT, .pid = (uint32_t)getpid(),
		.path = "/" }) == 0, "close the log with the unmount record");

	g = read_back(dfd);
	ok(g != NULL && g->damage == 0 && g->n == 7, "7 records, no damage");
	if (g == NULL || g->n != 7) {
		free(g);
		close(dfd);
		return;
	}
	ok(g->r[0].event == AUDIT_EV_CLOSE && g->r[0].uid == 1000 &&
	   g->r[0].gid == 100 && g->r[0].pid == 4242 &&
	   g->r[0].bytes_read == 77 && g->r[0].bytes_written == 9 &&
	   g->r[0].open_flags == O_RDWR &&
	   memcmp(g->r[0].doc_id, id, sizeof(id)) == 0 &&
	   strcmp(g->path[0], "/a/b.txt") == 0, "close record fields");
	ok(strcmp(g->comm[0], "cat") == 0 &&
	   strcmp(g->exe[0], "/usr/bin/cat") == 0 &&
	   !(g->r[0].flags & AUDIT_RF_CLIPPED), "given comm and exe kept");
	ok(strcmp(g->comm[1], want_comm) == 0 &&
	   strcmp(g->exe[1], want_exe) == 0, "comm and exe from /proc");
	ok(g->comm_null[2] && g->exe_null[2], "empty strings read back absent");
	ok(strcmp(g->comm[3], "given") == 0 && g->exe_null[3],
	   "only comm: no exe looked up");
	ok((g->r[4].flags & AUDIT_RF_CLIPPED) &&
	   strlen(g->comm[4]) == AUDIT_COMM_MAX &&
	   strncmp(g->comm[4], long_comm, AUDIT_COMM_MAX) == 0,
	   "over-long comm clipped to the maximum and flagged");
	ok(g->comm_null[5] && g->exe_null[5] && g->r[5].result == -ENOENT,
	   "exited pid: no comm, no exe, result kept");
	ok(g->r[6].event == AUDIT_EV_UNMOUNT &&
	   (g->r[6].flags & AUDIT_RF_FINAL) &&
	   strcmp(g->comm[6], want_comm) == 0, "final unmount record");
	free(g);
	close(dfd);
}

int main(void)
{
	char cmd[128];

	if (seal_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	crypto_box_keypair(pk, sk);
	memset(&vs, 0, sizeof(vs));
	seal_random(vs.vault_id, sizeof(vs.vault_id));
	memcpy(vs.auditor_pk, pk, sizeof(pk));

	test_who();
	test_records();

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("cannot remove %s", tmpdir);
	return done_testing();
}
