/* audit-read.c - see audit-read.h. */
#include "audit-read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vaultctl.h"
#include "audit-syslog.h"
#include "../keys/auditkey.h"
#include "../vaultfs/auditlog.h"
#include "../vaultfs/le.h"
#include "../vaultfs/log.h"
#include "../vaultfs/passphrase.h"
#include "../vaultfs/seal.h"

#define HEAD_BYTES 80

/* The walk's callbacks count, then hand over to the verb's. */
struct reader {
	const struct audit_read_ops *ops;
	void *arg;
	struct audit_read_tally *t;
	int err;			/* the first error of a callback */
};

/* A callback's result: an error stops the walk and is kept. */
static int result(struct reader *rd, int ret)
{
	if (ret != 0)
		rd->err = ret;
	return ret;
}

static int on_finding(void *arg, const struct audit_problem *p)
{
	struct reader *rd = arg;
	struct audit_read_tally *t = rd->t;

	if (auditverify_is_damage(p->kind)) {
		if (t->damage++ == 0)
			t->first_damage = *p;
		if (p->kind == AUDIT_WRONG_KEY)
			t->wrong_key++;
		else if (t->other_damage++ == 0)
			t->first_other_damage = *p;
	} else {
		t->notes++;
		if (p->kind == AUDIT_NOTE_HISTORY_START && t->history_seg == 0 &&
		    p->segment_no != 0) {
			t->history_seg = p->segment_no;
			t->history_seq = p->seq;
		}
	}
	return rd->ops->finding != NULL ?
	       result(rd, rd->ops->finding(rd->arg, p)) : 0;
}

static int on_record(void *arg, const struct audit_record *r,
		     const struct audit_position *pos)
{
	struct reader *rd = arg;

	return rd->ops->record != NULL ?
	       result(rd, rd->ops->record(rd->arg, r, pos)) : 0;
}

/* (only set when ops->syslog_record is) */
static int on_syslog_record(void *arg, const struct audit_record *r,
			    const struct audit_position *pos)
{
	struct reader *rd = arg;

	return result(rd, rd->ops->syslog_record(rd->arg, r, pos));
}

static void on_syslog_note(void *arg, const char *text)
{
	struct reader *rd = arg;

	if (rd->ops->syslog_note != NULL)
		rd->ops->syslog_note(rd->arg, text);
}

/* Does directory dfd hold a segment, or the head file? */
static bool has_segments(int dfd)
{
	struct dirent *de;
	bool found = false;
	uint64_t n;
	DIR *d;
	int fd = dup(dfd);

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL)
		found = auditrec_segment_number(de->d_name, &n) == 0 ||
			strcmp(de->d_name, AUDITLOG_HEAD_FILE) == 0;
	closedir(d);
	return found;
}

/*
 * VAULT/audit, or VAULT itself when it is a directory of (archived)
 * segments.  Returns the fd, or -1 after printing why.
 */
static int open_log_dir(const char *vault, char *shown, size_t cap)
{
	int vfd, dfd;

	vfd = open(vault, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vfd < 0) {
		vaultctl_error("no vault at '%s': %s", vault, strerror(errno));
		return -1;
	}
	dfd = openat(vfd, "audit", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		close(vfd);
		snprintf(shown, cap, "%s/audit", vault);
		return dfd;
	}
	if (errno == ENOENT && has_segments(vfd)) {
		snprintf(shown, cap, "%s", vault);
		return vfd;
	}
	vaultctl_error("no access log at '%s/audit': %s; give a vault "
		       "directory, or a directory of archived segments",
		       vault, strerror(errno));
	close(vfd);
	return -1;
}

/* The auditor keys of a walk: secret halves in one secret block. */
struct keyring {
	size_t n;
	uint8_t *sk;			/* n * AUDITKEY_SK_BYTES */
	uint8_t pk[AUDITVERIFY_MAX_KEYS][AUDITKEY_PK_BYTES];
	struct auditverify_key keys[AUDITVERIFY_MAX_KEYS];
	const char *file[AUDITVERIFY_MAX_KEYS];	/* for messages */
};

static void keyring_free(struct keyring *kr)
{
	seal_secret_free(kr->sk);
	kr->sk = NULL;
	sodium_memzero(kr->pk, sizeof(kr->pk));
	memset(kr->keys, 0, sizeof(kr->keys));
	kr->n = 0;
}

/*
 * Load one auditor key pair into sk (secret memory) and pk.  Returns 0 or
 * the exit status (message printed).
 */
static int load_key(const struct audit_read_key *k, uint8_t *sk,
		    uint8_t pk[AUDITKEY_PK_BYTES])
{
	char prompt[600];
	char *pass = NULL;
	size_t len = 0;
	int r;

	/* Fail before asking for a passphrase that could not help. */
	if (access(k->keyfile, R_OK) < 0) {
		vaultctl_error("cannot read auditor key '%s': %s; give the "
			       "file 'vaultctl init --auditor-key-out' (or "
			       "'vaultctl audit rekey') wrote", k->keyfile,
			       strerror(errno));
		return VAULTCTL_EXIT_FAILURE;
	}
	snprintf(prompt, sizeof(prompt), "Passphrase for the auditor key %s: ",
		 k->keyfile);
	r = vaultctl_passphrase(k->passfile, "--auditor-passfile", prompt,
				false, &pass, &len);
	if (r < 0)
		return r == -ENOTTY ? VAULTCTL_EXIT_USAGE :
		       VAULTCTL_EXIT_FAILURE;
	r = auditkey_load(k->keyfile, pass, len, sk, pk);
	passphrase_free(pass, len);
	return audit_read_key_error(k->keyfile, r);
}

int audit_read_key_error(const char *keyfile, int err)
{
	switch (err) {
	case 0:
		return 0;
	case -EKEYREJECTED:
		vaultctl_error("wrong passphrase for auditor key '%s'", keyfile);
		return VAULTCTL_EXIT_PASSPHRASE;
	case -EPERM:
		vaultctl_error("auditor key '%s' is writable by group or others, "
			       "so it could have been replaced; check it and "
			       "'chmod go-w' it", keyfile);
		break;
	case -EBADMSG:
		vaultctl_error("'%s' is not an auditor key file, or it is "
			       "damaged; restore it from its copy", keyfile);
		break;
	case -EPROTONOSUPPORT:
		vaultctl_error("auditor key '%s' has a newer format than this "
			       "vaultctl understands; upgrade vaultfs", keyfile);
		break;
	case -ENOMEM:
		vaultctl_error("not enough memory to open auditor key '%s' "
			       "(the key derivation needs up to 1 GiB)", keyfile);
		break;
	default:
		vaultctl_error("cannot read auditor key '%s': %s", keyfile,
			       strerror(-err));
		break;
	}
	return VAULTCTL_EXIT_FAILURE;
}

/*
 * Load every key of src into kr (a key given twice, even from two files,
 * is kept once).  Returns 0 or the exit status (message printed).
 */
static int load_keys(const struct audit_read_source *src, struct keyring *kr)
{
	uint8_t pk[AUDITKEY_PK_BYTES];
	int status;

	memset(kr, 0, sizeof(*kr));
	if (src->nkeys == 0 || src->nkeys > AUDITVERIFY_MAX_KEYS)
		vault_misuse("audit_read_run: key count out of range");
	kr->sk = seal_secret_alloc(src->nkeys * AUDITKEY_SK_BYTES);
	if (kr->sk == NULL) {
		vaultctl_error("out of memory");
		return VAULTCTL_EXIT_FAILURE;
	}
	for (size_t i = 0; i < src->nkeys; i++) {
		uint8_t *sk = kr->sk + kr->n * AUDITKEY_SK_BYTES;
		size_t dup = kr->n;

		status = load_key(&src->keys[i], sk, pk);
		if (status != 0) {
			keyring_free(kr);
			return status;
		}
		for (size_t j = 0; j < kr->n; j++)
			if (sodium_memcmp(kr->pk[j], pk, sizeof(pk)) == 0)
				dup = j;
		if (dup < kr->n) {
			vaultctl_note("auditor keys '%s' and '%s' are the same "
				      "key", kr->file[dup], src->keys[i].keyfile);
			sodium_memzero(sk, AUDITKEY_SK_BYTES);
			continue;
		}
		memcpy(kr->pk[kr->n], pk, sizeof(pk));
		kr->keys[kr->n].sk = sk;
		kr->keys[kr->n].pk = kr->pk[kr->n];
		kr->file[kr->n] = src->keys[i].keyfile;
		kr->n++;
	}
	return 0;
}

/*
 * The head file names the newest segment a writer created or closed.  If
 * it names a segment newer than the newest present (and that one did not
 * appear while we read), the newest segments were deleted: the chain
 * alone cannot show that until the next writer chains on.  Fills *p and
 * returns true when there is such a finding.  The head is not
 * authenticated: an intruder can edit it too (a known limit).
 */
static bool check_head(int dfd, const struct auditverify_summary *sum,
		       struct audit_problem *p)
{
	uint8_t h[HEAD_BYTES + 1];
	char name[AUDITREC_SEGNAME_MAX];
	uint64_t seg, next;
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dfd, AUDITLOG_HEAD_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n != HEAD_BYTES || memcmp(h, "VFSAHEAD", 8) != 0 ||
	    h[8] != 1 || h[9] || h[10] || h[11])
		return false;
	seg = le_get64(h + 32);
	next = le_get64(h + 40);
	if (seg == 0)
		return false;
	if (sum->segments > 0 &&
	    memcmp(h + 16, sum->vault_id, AUDITREC_VAULT_ID_BYTES) != 0)
		return false;
	memset(p, 0, sizeof(*p));
	snprintf(p->segment, sizeof(p->segment), "%s", AUDITLOG_HEAD_FILE);
	if (sum->segments == 0) {
		p->kind = AUDIT_NOTE_HISTORY_START;
		snprintf(p->detail, sizeof(p->detail), "no segment is left; "
			 "the last one was segment %" PRIu64 " (the next record "
			 "would be seq %" PRIu64 "): all were archived or "
			 "deleted", seg, next);
		return true;
	}
	if (seg <= sum->last_segment)
		return false;
	auditrec_segment_name(seg, name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return false;	/* created while we were reading */
	p->kind = AUDIT_SEGMENT_REMOVED;
	p->segment_no = seg;
	p->count = seg - sum->last_segment;
	snprintf(p->detail, sizeof(p->detail), "the head file names segment %"
		 PRIu64 " (next seq %" PRIu64 ") but the newest segment present "
		 "is %" PRIu64 ": the newest segment(s) were deleted, or the "
		 "head file was edited", seg, next, sum->last_segment);
	return true;
}

/*
 * Compare with, or read, the forwarded copy; its damage findings join the
 * walk's.  0, or -1 after printing why.
 */
static int syslog_run(struct reader *rd, const struct audit_read_source *src,
		      int dfd, const uint8_t *sk, const uint8_t *pk,
		      const char *keyfile)
{
	const struct auditverify_summary *sum = &rd->t->sum;
	const struct audit_syslog_callbacks cb = {
		.record = rd->ops->syslog_record ? on_syslog_record : NULL,
		.finding = on_finding,
		.note = on_syslog_note,
	};
	const uint8_t *vid = sum->segments > 0 ? sum->vault_id : NULL;
	struct audit_syslog_summary ss;
	int r;

	if (rd->ops->syslog_compare)
		r = audit_syslog_verify(dfd, src->syslog, sk, pk, vid, &cb, rd,
					&ss);
	else
		r = audit_syslog_records(src->syslog, sk, pk, vid, &cb, rd,
					 &ss);
	if (r == 0 && rd->err != 0)
		r = rd->err;
	if (r == 0)
		return 0;
	if (r == -ENODATA)
		vaultctl_error("no forwarded access log of this vault in '%s' "
			       "(%" PRIu64 " lines, %" PRIu64 " forwarded items "
			       "of other vaults); give the file the collector "
			       "writes the vaultfs-audit messages to",
			       src->syslog, ss.collect.lines, ss.other_vault);
	else if (r == -EKEYREJECTED)
		vaultctl_error("wrong key: no forwarded segment header in '%s' "
			       "is sealed to auditor key '%s'", src->syslog,
			       keyfile);
	else if (r < 0)
		vaultctl_error("cannot read the forwarded copy '%s': %s",
			       src->syslog, strerror(-r));
	return -1;
}

int audit_read_run(const struct audit_read_source *src,
		   const struct audit_read_ops *ops, void *arg,
		   struct audit_read_tally *t)
{
	static const struct auditverify_callbacks cb = {
		.record = on_record,
		.finding = on_finding,
	};
	struct reader rd = { .ops = ops, .arg = arg, .t = t };
	struct audit_problem head;
	struct keyring kr = { 0 };
	int dfd, r, status;

	memset(t, 0, sizeof(*t));
	dfd = open_log_dir(src->vault, t->dir, sizeof(t->dir));
	if (dfd < 0)
		return VAULTCTL_EXIT_FAILURE;
	status = load_keys(src, &kr);
	if (status != 0)
		goto out;

	status = VAULTCTL_EXIT_FAILURE;
	r = auditverify_run_keys(dfd, kr.keys, kr.n, NULL, &cb, &rd, &t->sum);
	/* (cmd-audit.c allows --syslog with one key only) */
	if (r == 0 && rd.err == 0 && src->syslog != NULL &&
	    syslog_run(&rd, src, dfd, kr.keys[0].sk, kr.keys[0].pk,
		       kr.file[0]) < 0)
		goto out;
	if (r == 0 && rd.err != 0)
		r = rd.err;
	if (ferror(stdout)) {
		vaultctl_error("cannot write the output");
		goto out;
	}
	if (r == -EKEYREJECTED && kr.n == 1) {
		vaultctl_error("wrong key: no segment of the access log in '%s' "
			       "is sealed to auditor key '%s'; is it this "
			       "vault's auditor key?", t->dir, kr.file[0]);
		goto out;
	}
	if (r == -EKEYREJECTED) {
		vaultctl_error("wrong key: no segment of the access log in '%s' "
			       "is sealed to any of the %zu auditor keys given; "
			       "are they this vault's auditor keys?", t->dir,
			       kr.n);
		goto out;
	}
	if (r < 0) {
		vaultctl_error("cannot read the access log in '%s': %s", t->dir,
			       strerror(-r));
		goto out;
	}
	if (check_head(dfd, &t->sum, &head))
		(void)on_finding(&rd, &head);
	/* A key that opens nothing is worth a word when there are several. */
	for (size_t i = 0; kr.n > 1 && i < kr.n; i++)
		if (kr.keys[i].segments == 0) {
			char fp[AUDITKEY_FINGERPRINT_CHARS];

			auditkey_fingerprint(kr.pk[i], fp);
			vaultctl_note("auditor key '%s' (public key %s) opens "
				      "no segment of the access log in '%s'",
				      kr.file[i], fp, t->dir);
		}
	status = 0;
out:
	keyring_free(&kr);
	close(dfd);
	return status;
}

void audit_read_print_other_keys(FILE *f, const struct audit_read_tally *t)
{
	const struct auditverify_summary *sum = &t->sum;
	char fp[AUDITKEY_FINGERPRINT_CHARS];
	bool one = sum->n_other_pks == 1;

	if (t->wrong_key == 0 || sum->other_key_segments == 0)
		return;
	if (sum->other_key_segments == 1)
		fprintf(f, "segment %" PRIu64 " is", sum->other_key_first);
	else
		fprintf(f, "%" PRIu64 " segments (numbers %" PRIu64 "..%" PRIu64
			") are", sum->other_key_segments, sum->other_key_first,
			sum->other_key_last);
	fputs(one ? " sealed to another auditor key (public key " :
	      " sealed to other auditor keys (public keys ", f);
	for (size_t i = 0; i < sum->n_other_pks; i++) {
		auditkey_fingerprint(sum->other_pks[i], fp);
		fprintf(f, "%s%s", i ? ", " : "", fp);
	}
	fprintf(f, "%s): %s records were not read; an auditor key change "
		"('vaultctl audit rekey') leaves this, and the log records it; "
		"give the other key%s too (--auditor-key, once per key)\n",
		sum->n_other_pks == AUDITVERIFY_OTHER_PKS ? ", ..." : "",
		sum->other_key_segments == 1 ? "its" : "their", one ? "" : "s");
}

void audit_read_print_summary(FILE *f, const struct audit_read_tally *t)
{
	const struct auditverify_summary *sum = &t->sum;

	if (sum->segments == 0) {
		fprintf(f, "no segments (an empty log); %" PRIu64 " damage "
			"finding%s, %" PRIu64 " note%s\n", t->damage,
			t->damage == 1 ? "" : "s", t->notes,
			t->notes == 1 ? "" : "s");
		return;
	}
	fprintf(f, "%" PRIu64 " segment%s (numbers %" PRIu64 "..%" PRIu64 "), %"
		PRIu64 " authentic record%s", sum->segments,
		sum->segments == 1 ? "" : "s", sum->first_segment,
		sum->last_segment, sum->records, sum->records == 1 ? "" : "s");
	if (sum->records > 0)
		fprintf(f, " (seq %" PRIu64 "..%" PRIu64 ")", sum->first_seq,
			sum->last_seq);
	if (sum->history_complete)
		fputs(", complete history", f);
	else if (t->history_seg != 0)
		fprintf(f, ", retained history starts at segment %" PRIu64
			" (seq %" PRIu64 "): older segments were archived",
			t->history_seg, t->history_seq);
	fprintf(f, "; %" PRIu64 " damage finding%s", t->other_damage,
		t->other_damage == 1 ? "" : "s");
	if (t->wrong_key > 0)
		fprintf(f, ", %" PRIu64 " segment%s sealed to another auditor "
			"key", t->wrong_key, t->wrong_key == 1 ? "" : "s");
	fprintf(f, ", %" PRIu64 " note%s\n", t->notes,
		t->notes == 1 ? "" : "s");
}

int audit_read_status(const struct audit_read_tally *t)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		vaultctl_error("cannot write the output: %s", strerror(errno));
		return VAULTCTL_EXIT_FAILURE;
	}
	return t->damage > 0 ? VAULTCTL_EXIT_FAILURE : VAULTCTL_EXIT_OK;
}
