/*
 * auditgen.c - write and tamper with access-log segments for the tests of
 * vaultctl audit (tests/integration/t3*.sh).
 *
 *   auditgen write VAULT [--command] [--crash]
 *       Start a new segment in VAULT/audit through auditlog_open() (the
 *       vault's id and auditor key are read from the clear part of
 *       VAULT/vault.keys) and append one record per line of stdin.  The
 *       last line becomes the segment's final record (auditlog_close), or
 *       with --crash every line is appended and the process exits without
 *       closing (a crashed writer).  --command makes a command segment.
 *       Prints the seq of each record, one per line (the final one too).
 *   auditgen frames SEGFILE          "INDEX OFFSET LENGTH SEQ" per frame
 *   auditgen cut SEGFILE INDEX       remove frame INDEX
 *   auditgen swap SEGFILE I J        exchange frames I < J
 *   auditgen setseq SEGFILE INDEX N  rewrite the clear seq of frame INDEX
 *
 * Record lines: EVENT then KEY=VALUE words separated by blanks:
 *   uid gid pid result flags (open flags, decimal or 0x hex) read written
 *   time (YYYY-MM-DDTHH:MM:SS[.ffffff]Z) doc (32 hex digits)
 *   comm exe path new detail (strings; %XX decodes a byte, so "%20" is a
 *   blank)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../vaultfs/auditlog.h"
#include "../../vaultfs/auditrec.h"
#include "../../vaultfs/seal.h"
#include "../../vaultfs/le.h"

#define LINE_MAX_BYTES 16384

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: auditgen write VAULT [--command] [--crash] "
		"< records | frames SEG | cut SEG INDEX | swap SEG I J | "
		"setseq SEG INDEX SEQ\n");
	exit(2);
}

static _Noreturn void die(const char *what, int err)
{
	fprintf(stderr, "auditgen: %s: %s\n", what, strerror(err));
	exit(1);
}

static unsigned long long num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

/* ---- write ---- */

static void load_settings(const char *vault, struct vault_settings *s)
{
	char path[4096];
	uint8_t clear[112];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", vault, KEYSTORE_FILE);
	f = fopen(path, "rb");
	if (f == NULL)
		die(path, errno);
	if (fread(clear, 1, sizeof(clear), f) != sizeof(clear))
		die(path, EIO);
	fclose(f);
	memset(s, 0, sizeof(*s));
	memcpy(s->vault_id, clear + 20, sizeof(s->vault_id));
	memcpy(s->auditor_pk, clear + 36, sizeof(s->auditor_pk));
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

/* Decode %XX in place. */
static char *unescape(char *s)
{
	char *o = s, *p = s;

	while (*p) {
		if (p[0] == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return s;
}

static int64_t parse_time(const char *s)
{
	struct tm tm;
	unsigned us = 0;
	char frac[8] = "", z = 0;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		usage();
	s += n;
	if (*s == '.') {
		if (sscanf(s + 1, "%6[0-9]%n", frac, &n) != 1)
			usage();
		s += 1 + n;
		while (strlen(frac) < 6)
			strcat(frac, "0");
		us = (unsigned)strtoul(frac, NULL, 10);
	}
	z = *s;
	if (z != 'Z' || s[1] != '\0')
		usage();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000 + us;
}

/* Parse one record line (modified in place; strings point into it). */
static void parse_record(char *line, struct audit_record *r)
{
	char *save = NULL, *w;
	enum audit_event ev;

	memset(r, 0, sizeof(*r));
	w = strtok_r(line, " \t\n", &save);
	if (w == NULL || auditrec_event_from_name(w, &ev) < 0) {
		fprintf(stderr, "auditgen: bad event '%s'\n", w ? w : "");
		exit(2);
	}
	r->event = ev;
	while ((w = strtok_r(NULL, " \t\n", &save)) != NULL) {
		char *v = strchr(w, '=');

		if (v == NULL)
			usage();
		*v++ = '\0';
		if (strcmp(w, "uid") == 0)
			r->uid = (uint32_t)num(v);
		else if (strcmp(w, "gid") == 0)
			r->gid = (uint32_t)num(v);
		else if (strcmp(w, "pid") == 0)
			r->pid = (uint32_t)num(v);
		else if (strcmp(w, "result") == 0)
			r->result = (int32_t)strtol(v, NULL, 10);
		else if (strcmp(w, "flags") == 0)
			r->open_flags = (uint32_t)num(v);
		else if (strcmp(w, "read") == 0)
			r->bytes_read = num(v);
		else if (strcmp(w, "written") == 0)
			r->bytes_written = num(v);
		else if (strcmp(w, "time") == 0)
			r->time_us = parse_time(v);
		else if (strcmp(w, "doc") == 0) {
			if (strlen(v) != 2 * AUDITREC_DOC_ID_BYTES)
				usage();
			for (size_t i = 0; i < AUDITREC_DOC_ID_BYTES; i++) {
				int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

				if (hi < 0 || lo < 0)
					usage();
				r->doc_id[i] = (uint8_t)(hi * 16 + lo);
			}
		} else if (strcmp(w, "comm") == 0)
			r->comm = unescape(v);
		else if (strcmp(w, "exe") == 0)
			r->exe = unescape(v);
		else if (strcmp(w, "path") == 0)
			r->path = unescape(v);
		else if (strcmp(w, "new") == 0)
			r->new_path = unescape(v);
		else if (strcmp(w, "detail") == 0)
			r->detail = unescape(v);
		else
			usage();
	}
}

static int cmd_write(int argc, char **argv)
{
	struct auditlog_options opt = { .kind = AUDIT_SEG_MOUNT };
	struct vault_settings s;
	struct auditlog *log = NULL;
	struct audit_record r;
	char path[4096], *cur, *next, *tmp;
	bool crash = false;
	uint64_t seq;
	int dfd, err;

	if (argc < 3)
		usage();
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--command") == 0)
			opt.kind = AUDIT_SEG_COMMAND;
		else if (strcmp(argv[i], "--crash") == 0)
			crash = true;
		else
			usage();
	}
	load_settings(argv[2], &s);
	snprintf(path, sizeof(path), "%s/audit", argv[2]);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(path, errno);
	err = auditlog_open(dfd, &s, &opt, &log);
	if (err < 0)
		die("auditlog_open", -err);
	close(dfd);

	cur = malloc(LINE_MAX_BYTES);
	next = malloc(LINE_MAX_BYTES);
	if (cur == NULL || next == NULL)
		die("malloc", ENOMEM);
	/* Keep one line back: the last one is the final record. */
	if (fgets(cur, LINE_MAX_BYTES, stdin) == NULL)
		usage();
	for (;;) {
		bool last = fgets(next, LINE_MAX_BYTES, stdin) == NULL;

		parse_record(cur, &r);
		if (last && !crash) {
			struct auditlog_head h;

			auditlog_head(log, &h);
			err = auditlog_close(log, &r);
			if (err < 0)
				die("auditlog_close", -err);
			printf("%" PRIu64 "\n", h.seq + 1);
			break;
		}
		err = auditlog_append(log, &r, &seq);
		if (err < 0)
			die("auditlog_append", -err);
		printf("%" PRIu64 "\n", seq);
		if (last) {
			fflush(stdout);
			_exit(0);	/* a crashed writer: no final record */
		}
		tmp = cur;
		cur = next;
		next = tmp;
	}
	free(cur);
	free(next);
	return 0;
}

/* ---- tampering ---- */

struct seg {
	uint8_t *data;
	size_t len;
	size_t off[100000];
	size_t flen[100000];
	size_t n;
};

static struct seg seg;

static void seg_load(const char *path)
{
	struct auditrec_frame f;
	struct stat st;
	size_t o = AUDITREC_HEADER_BYTES;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path, errno);
	seg.len = (size_t)st.st_size;
	seg.data = malloc(seg.len + 1);
	if (seg.data == NULL)
		die("malloc", ENOMEM);
	if (read(fd, seg.data, seg.len) != (ssize_t)seg.len)
		die(path, EIO);
	close(fd);
	seg.n = 0;
	while (o < seg.len && seg.n < 100000 &&
	       auditrec_frame_parse(seg.data + o, seg.len - o, &f) == 0) {
		seg.off[seg.n] = o;
		seg.flen[seg.n++] = f.frame_len;
		o += f.frame_len;
	}
}

static void seg_store(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0)
		die(path, errno);
	if (write(fd, data, len) != (ssize_t)len)
		die(path, EIO);
	close(fd);
}

static size_t index_arg(const char *s)
{
	unsigned long long i = num(s);

	if (i >= seg.n) {
		fprintf(stderr, "auditgen: no frame %llu (%zu frames)\n", i,
			seg.n);
		exit(1);
	}
	return (size_t)i;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	if (seal_init() < 0)
		die("seal_init", EIO);
	if (strcmp(argv[1], "write") == 0)
		return cmd_write(argc, argv);

	seg_load(argv[2]);
	if (strcmp(argv[1], "frames") == 0 && argc == 3) {
		for (size_t i = 0; i < seg.n; i++)
			printf("%zu %zu %zu %" PRIu64 "\n", i, seg.off[i],
			       seg.flen[i], le_get64(seg.data + seg.off[i] + 4));
	} else if (strcmp(argv[1], "cut") == 0 && argc == 4) {
		size_t i = index_arg(argv[3]);

		memmove(seg.data + seg.off[i], seg.data + seg.off[i] + seg.flen[i],
			seg.len - seg.off[i] - seg.flen[i]);
		seg_store(argv[2], seg.data, seg.len - seg.flen[i]);
	} else if (strcmp(argv[1], "swap") == 0 && argc == 5) {
		size_t i = index_arg(argv[3]), j = index_arg(argv[4]);
		uint8_t *out = malloc(seg.len);
		size_t o;

		if (i >= j || out == NULL)
			usage();
		/* before i | j | between | i | after j */
		o = seg.off[i];
		memcpy(out, seg.data, o);
		memcpy(out + o, seg.data + seg.off[j], seg.flen[j]);
		o += seg.flen[j];
		memcpy(out + o, seg.data + seg.off[i] + seg.flen[i],
		       seg.off[j] - seg.off[i] - seg.flen[i]);
		o += seg.off[j] - seg.off[i] - seg.flen[i];
		memcpy(out + o, seg.data + seg.off[i], seg.flen[i]);
		o += seg.flen[i];
		memcpy(out + o, seg.data + seg.off[j] + seg.flen[j],
		       seg.len - seg.off[j] - seg.flen[j]);
		seg_store(argv[2], out, seg.len);
		free(out);
	} else if (strcmp(argv[1], "setseq") == 0 && argc == 5) {
		size_t i = index_arg(argv[3]);
		uint64_t v = num(argv[4]);

		for (int b = 0; b < 8; b++)
			seg.data[seg.off[i] + 4 + b] = (uint8_t)(v >> (8 * b));
		seg_store(argv[2], seg.data, seg.len);
	} else {
		usage();
	}
	free(seg.data);
	return 0;
}
