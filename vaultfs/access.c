/* access.c - see access.h. */
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auditlog.h"
#include "fileio.h"
#include "log.h"

/*
 * Process names, remembered per pid for a second: reading /proc/pid/comm
 * costs three system calls an open.  The executable is read every time
 * (it is the kernel's word, and changes at execve); a remembered name is
 * used only while the pid still runs the same executable.  The name is
 * the process's own claim anyway (prctl(2) sets it).
 */
#define WHO_SLOTS 64
#define WHO_TTL_NS 1000000000ull

static struct who {
	uint32_t pid;
	uint64_t exe_hash;
	uint64_t at_ns;
	char comm[AUDIT_COMM_MAX + 1];
} who_cache[WHO_SLOTS];
static pthread_mutex_t who_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "/proc/PID/leaf" into buf (32 bytes: "/proc/" + 10 digits + "/comm"). */
static void proc_file(char buf[32], uint32_t pid, const char *leaf)
{
	char digits[10];
	size_t n = 0, len = 6;

	/* snprintf(3) was a tenth of the cost of a look-up. */
	memcpy(buf, "/proc/", 6);
	do {
		digits[n++] = (char)('0' + pid % 10);
		pid /= 10;
	} while (pid != 0);
	while (n > 0)
		buf[len++] = digits[--n];
	buf[len++] = '/';
	n = strlen(leaf);
	memcpy(buf + len, leaf, n + 1);
}

void access_who(uint32_t pid, char comm[AUDIT_COMM_MAX + 1],
		char exe[AUDIT_EXE_MAX + 1])
{
	struct who *w = &who_cache[pid % WHO_SLOTS];
	char path[32];
	uint64_t hash, t;
	size_t len = 0;
	ssize_t n;
	int fd;

	comm[0] = exe[0] = '\0';
	if (pid == 0)
		return;
	proc_file(path, pid, "exe");
	n = readlink(path, exe, AUDIT_EXE_MAX);
	exe[n > 0 ? n : 0] = '\0';
	hash = fnv1a(exe);
	t = now_ns();
	pthread_mutex_lock(&who_mu);
	if (n > 0 && w->pid == pid && w->exe_hash == hash &&
	    t - w->at_ns < WHO_TTL_NS) {
		memcpy(comm, w->comm, sizeof(w->comm));
		pthread_mutex_unlock(&who_mu);
		return;
	}
	pthread_mutex_unlock(&who_mu);
	proc_file(path, pid, "comm");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread_full(fd, comm, AUDIT_COMM_MAX, 0, &len) < 0)
			len = 0;
		close(fd);
		while (len > 0 && comm[len - 1] == '\n')
			len--;
		comm[len] = '\0';
	}
	if (n > 0 && len > 0) {
		pthread_mutex_lock(&who_mu);
		w->pid = pid;
		w->exe_hash = hash;
		w->at_ns = t;
		memcpy(w->comm, comm, sizeof(w->comm));
		pthread_mutex_unlock(&who_mu);
	}
}

/* "" as NULL: the record knows only absent strings. */
static const char *or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The record for ev; comm and exe are its buffers for the process. */
static void fill(struct audit_record *r, const struct access_event *ev,
		 char comm[AUDIT_COMM_MAX + 1], char exe[AUDIT_EXE_MAX + 1])
{
	const char *c = ev->comm, *e = ev->exe;

	/* Known already (a close): used as they are, the encoder clips. */
	if (!c && !e) {
		access_who(ev->pid, comm, exe);
		c = comm;
		e = exe;
	}
	memset(r, 0, sizeof(*r));
	r->event = ev->event;
	r->uid = ev->uid;
	r->gid = ev->gid;
	r->pid = ev->pid;
	r->result = ev->result;
	r->open_flags = ev->open_flags;
	r->bytes_read = ev->bytes_read;
	r->bytes_written = ev->bytes_written;
	if (ev->doc_id)
		memcpy(r->doc_id, ev->doc_id, sizeof(r->doc_id));
	r->comm = or_null(c);
	r->exe = or_null(e);
	r->path = ev->path;
	r->new_path = ev->new_path;
	r->detail = ev->detail;
}

static int reserve_fd = -1;

void access_set_reserve(int fd)
{
	__atomic_store_n(&reserve_fd, fd, __ATOMIC_RELEASE);
}

/* Release the reserve, once.  true if there was one to release. */
static bool use_reserve(void)
{
	int fd = __atomic_exchange_n(&reserve_fd, -1, __ATOMIC_ACQ_REL);

	if (fd < 0)
		return false;
	/* Some file systems (ext4) free blocks only when the change
	 * commits: sync it so that the space is there for the retry. */
	if (ftruncate(fd, 0) < 0 || fsync(fd) < 0)
		return false;
	vlog(LOG_CRIT, "the backing store is full: the access log now uses "
	     "its reserve; free space in the vault's file system (accesses "
	     "are refused once the reserve is used up)");
	return true;
}

int access_record(struct auditlog *log, const struct access_event *ev)
{
	char comm[AUDIT_COMM_MAX + 1], exe[AUDIT_EXE_MAX + 1];
	struct audit_record r;
	int ret;

	if (!log)
		return 0;
	fill(&r, ev, comm, exe);
	ret = auditlog_append(log, &r, NULL);
	/* Only what frees space may use the reserve: the way out of a full
	 * disk.  Opens and creates stay refused. */
	if (ret == -ENOSPC && (ev->event == AUDIT_EV_UNLINK ||
			       ev->event == AUDIT_EV_RMDIR ||
			       ev->event == AUDIT_EV_TRUNCATE) && use_reserve())
		ret = auditlog_append(log, &r, NULL);
	if (ret < 0)
		vlog(LOG_ERR, "cannot write the access log (%s): refusing "
		     "access", strerror(-ret));
	return ret;
}

int access_close(struct auditlog *log, const struct access_event *ev)
{
	char comm[AUDIT_COMM_MAX + 1], exe[AUDIT_EXE_MAX + 1];
	struct audit_record r;
	int ret;

	if (!log)
		return 0;
	fill(&r, ev, comm, exe);
	ret = auditlog_close(log, &r);
	if (ret < 0)
		vlog(LOG_ERR, "cannot write the final record of the access "
		     "log: %s", strerror(-ret));
	return ret;
}
