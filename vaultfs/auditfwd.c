/* auditfwd.c - see auditfwd.h. */
#include "auditfwd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"

#define MARKER AUDITFWD_MAGIC " "
#define MARKER_LEN (sizeof(MARKER) - 1)
#define RETRY_MS 1000		/* between two connection attempts */
#define POLL_MS 100		/* waiting for room, between checks */
#define STOP_WAIT_MS 1000	/* auditfwd_free(): longest wait for room */

/* ---- the wire format ---- */

unsigned auditfwd_parts(size_t len)
{
	return (unsigned)((len + AUDITFWD_PART_BYTES - 1) / AUDITFWD_PART_BYTES);
}

static void put_hex(char *out, const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* auditfwd_format() with the item's chain value already computed. */
static int format_part(const uint8_t vault_id[AUDITREC_VAULT_ID_BYTES],
		       uint64_t segment, uint64_t seq, const uint8_t *bytes,
		       size_t len, const uint8_t chain[AUDITREC_CHAIN_BYTES],
		       unsigned part, int64_t time_s, uint32_t pid, char *out,
		       size_t cap, size_t *out_len)
{
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	char vid[2 * AUDITREC_VAULT_ID_BYTES + 1], id[2 * AUDITFWD_ID_BYTES + 1];
	unsigned parts;
	size_t off, n, b64_len;
	struct tm tm;
	time_t t = (time_t)time_s;
	int w;

	if (len == 0 || len > AUDITFWD_ITEM_MAX || segment == 0)
		return -EINVAL;
	parts = auditfwd_parts(len);
	if (part == 0 || part > parts)
		return -EINVAL;
	off = (size_t)(part - 1) * AUDITFWD_PART_BYTES;
	n = len - off < AUDITFWD_PART_BYTES ? len - off : AUDITFWD_PART_BYTES;
	if (localtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	put_hex(vid, vault_id, AUDITREC_VAULT_ID_BYTES);
	put_hex(id, chain, AUDITFWD_ID_BYTES);
	w = snprintf(out, cap, "<%d>%s %2d %02d:%02d:%02d " AUDITFWD_TAG
		     "[%u]: " MARKER "%s %llu %llu %s %u/%u ", AUDITFWD_PRI,
		     months[tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0],
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, pid, vid,
		     (unsigned long long)segment, (unsigned long long)seq, id,
		     part, parts);
	b64_len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if (w < 0 || (size_t)w + b64_len > cap)
		return -ENOBUFS;
	/* b64_len counts the NUL that sodium_bin2base64 writes */
	sodium_bin2base64(out + w, b64_len, bytes + off, n,
			  sodium_base64_VARIANT_ORIGINAL);
	*out_len = (size_t)w + b64_len - 1;
	return 0;
}

int auditfwd_format(const uint8_t vault_id[AUDITREC_VAULT_ID_BYTES],
		    uint64_t segment, uint64_t seq, const uint8_t *bytes,
		    size_t len, unsigned part, int64_t time_s, uint32_t pid,
		    char *out, size_t cap, size_t *out_len)
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];

	if (len == 0 || len > AUDITFWD_ITEM_MAX)
		return -EINVAL;
	auditrec_chain(bytes, len, chain);
	return format_part(vault_id, segment, seq, bytes, len, chain, part,
			   time_s, pid, out, cap, out_len);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lower-case hex digits then a blank. */
static bool get_hex(const char **s, const char *end, uint8_t *out, size_t n)
{
	const char *p = *s;

	if ((size_t)(end - p) < 2 * n + 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	if (p[2 * n] != ' ')
		return false;
	*s = p + 2 * n + 1;
	return true;
}

/* Decimal (1..20 digits, no overflow) ended by the character stop. */
static bool get_u64(const char **s, const char *end, char stop, uint64_t *v)
{
	const char *p = *s;
	uint64_t x = 0;
	int digits = 0;

	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		p++;
		if (++digits > 20)
			return false;
	}
	if (digits == 0 || p >= end || *p != stop)
		return false;
	*v = x;
	*s = p + 1;
	return true;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* Parse the payload that starts after the marker at s. */
static int parse_payload(const char *s, const char *end,
			 struct auditfwd_part *p)
{
	uint64_t part, parts;
	const char *b64;
	size_t n = 0, got = 0;

	if (!get_hex(&s, end, p->vault_id, AUDITREC_VAULT_ID_BYTES) ||
	    !get_u64(&s, end, ' ', &p->segment) || p->segment == 0 ||
	    !get_u64(&s, end, ' ', &p->seq) ||
	    !get_hex(&s, end, p->id, AUDITFWD_ID_BYTES) ||
	    !get_u64(&s, end, '/', &part) || !get_u64(&s, end, ' ', &parts) ||
	    part == 0 || part > parts || parts > AUDITFWD_PARTS_MAX)
		return -EBADMSG;
	b64 = s;
	while (s < end && is_b64(*s) && n <= AUDITFWD_PART_B64) {
		s++;
		n++;
	}
	/* The data ends the payload: the line, or the quoting around it. */
	if (n == 0 || n % 4 != 0 || n > AUDITFWD_PART_B64 ||
	    (s < end && strchr(" \t\r\n\"'\\,;}])#", *s) == NULL) ||
	    (s < end && *s == '\0'))
		return -EBADMSG;
	if (sodium_base642bin(p->data, sizeof(p->data), b64, n, NULL, &got,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EBADMSG;
	if (part < parts ? got != AUDITFWD_PART_BYTES :
	    (got == 0 || (parts - 1) * AUDITFWD_PART_BYTES + got >
	     AUDITFWD_ITEM_MAX))
		return -EBADMSG;
	p->part = (unsigned)part;
	p->parts = (unsigned)parts;
	p->len = got;
	return 0;
}

int auditfwd_parse_line(const char *line, size_t len, struct auditfwd_part *p)
{
	const char *end = line + len, *s = line;
	int err = -ENOENT;

	while ((s = memmem(s, (size_t)(end - s), MARKER, MARKER_LEN)) != NULL) {
		s += MARKER_LEN;
		err = parse_payload(s, end, p);
		if (err == 0)
			return 0;
	}
	if (err < 0)
		memset(p, 0, sizeof(*p));
	return err;
}

/* ---- reassembly ---- */

struct cpart {
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	uint64_t segment, seq, line;
	uint8_t id[AUDITFWD_ID_BYTES];
	unsigned part, parts;
	size_t len;
	uint8_t *data;
};

struct auditfwd_collector {
	struct cpart *parts;
	size_t nparts, capparts;
	struct auditfwd_item *items;
	size_t nitems, capitems;
	struct auditfwd_collect_stats st;
	struct auditfwd_part scratch;
	bool finished;
};

int auditfwd_collector_new(struct auditfwd_collector **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? -ENOMEM : 0;
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static bool id_matches(const uint8_t *bytes, size_t len,
		       const uint8_t id[AUDITFWD_ID_BYTES])
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];

	auditrec_chain(bytes, len, chain);
	return memcmp(chain, id, AUDITFWD_ID_BYTES) == 0;
}

/* Add a whole item; takes bytes (malloc'd). */
static int add_item(struct auditfwd_collector *c, const uint8_t *vault_id,
		    uint64_t segment, uint64_t seq, uint64_t line,
		    uint8_t *bytes, size_t len)
{
	struct auditfwd_item *it;

	if (grow((void **)&c->items, &c->capitems, c->nitems + 1,
		 sizeof(*c->items)) < 0) {
		free(bytes);
		return -ENOMEM;
	}
	it = &c->items[c->nitems++];
	memcpy(it->vault_id, vault_id, sizeof(it->vault_id));
	it->segment = segment;
	it->seq = seq;
	it->line = line;
	it->len = len;
	it->bytes = bytes;
	return 0;
}

int auditfwd_collector_add(struct auditfwd_collector *c, const char *line,
			   size_t len)
{
	struct auditfwd_part *p = &c->scratch;
	uint64_t lineno = ++c->st.lines;
	uint8_t *data;
	int err;

	if (c->finished)
		vault_misuse("auditfwd_collector_add after finish");
	err = auditfwd_parse_line(line, len, p);
	if (err == -EBADMSG)
		c->st.malformed++;
	if (err < 0)
		return 0;
	c->st.parts++;
	data = malloc(p->len);
	if (data == NULL)
		return -ENOMEM;
	memcpy(data, p->data, p->len);
	if (p->parts == 1) {
		/* Most items: whole in one line, checked at once. */
		if (!id_matches(data, p->len, p->id)) {
			c->st.incomplete++;
			free(data);
			return 1;
		}
		err = add_item(c, p->vault_id, p->segment, p->seq, lineno, data,
			       p->len);
		return err < 0 ? err : 1;
	}
	if (grow((void **)&c->parts, &c->capparts, c->nparts + 1,
		 sizeof(*c->parts)) < 0) {
		free(data);
		return -ENOMEM;
	}
	c->parts[c->nparts++] = (struct cpart){
		.segment = p->segment, .seq = p->seq, .line = lineno,
		.part = p->part, .parts = p->parts, .len = p->len, .data = data,
	};
	memcpy(c->parts[c->nparts - 1].vault_id, p->vault_id,
	       AUDITREC_VAULT_ID_BYTES);
	memcpy(c->parts[c->nparts - 1].id, p->id, AUDITFWD_ID_BYTES);
	return 1;
}

#define CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

/* Same item (all but part and line). */
static int cmp_group(const struct cpart *x, const struct cpart *y)
{
	int r = memcmp(x->vault_id, y->vault_id, sizeof(x->vault_id));

	if (r == 0)
		r = CMP(x->segment, y->segment);
	if (r == 0)
		r = CMP(x->seq, y->seq);
	if (r == 0)
		r = memcmp(x->id, y->id, sizeof(x->id));
	if (r == 0)
		r = CMP(x->parts, y->parts);
	return r;
}

static int cmp_part(const void *a, const void *b)
{
	const struct cpart *x = a, *y = b;
	int r = cmp_group(x, y);

	if (r == 0)
		r = CMP(x->part, y->part);
	if (r == 0)
		r = CMP(x->line, y->line);
	return r;
}

static int cmp_item(const void *a, const void *b)
{
	const struct auditfwd_item *x = a, *y = b;
	int r = memcmp(x->vault_id, y->vault_id, sizeof(x->vault_id));

	if (r == 0)
		r = CMP(x->segment, y->segment);
	if (r == 0)
		r = CMP(x->seq, y->seq);
	if (r == 0)
		r = CMP(x->line, y->line);
	return r;
}

/* Reassemble the group parts[0..n): the first copy of each part wins. */
static int assemble(struct auditfwd_collector *c, const struct cpart *g,
		    size_t n)
{
	unsigned want = 1;
	size_t total = 0;
	uint64_t line = UINT64_MAX;
	uint8_t *bytes;

	bytes = malloc((size_t)g[0].parts * AUDITFWD_PART_BYTES);
	if (bytes == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (g[i].part < want)
			continue;	/* a later copy of a part */
		if (g[i].part != want)
			break;		/* a part is missing */
		memcpy(bytes + total, g[i].data, g[i].len);
		total += g[i].len;
		if (g[i].line < line)
			line = g[i].line;
		want++;
	}
	if (want != g[0].parts + 1 || !id_matches(bytes, total, g[0].id)) {
		c->st.incomplete++;
		free(bytes);
		return 0;
	}
	return add_item(c, g[0].vault_id, g[0].segment, g[0].seq, line, bytes,
			total);
}

int auditfwd_collector_finish(struct auditfwd_collector *c,
			      const struct auditfwd_item **items, size_t *n,
			      struct auditfwd_collect_stats *st)
{
	size_t i, j, k;
	int err = 0;

	if (c->finished)
		vault_misuse("auditfwd_collector_finish twice");
	c->finished = true;
	if (c->nparts > 1)
		qsort(c->parts, c->nparts, sizeof(*c->parts), cmp_part);
	for (i = 0; i < c->nparts && err == 0; i = j) {
		for (j = i + 1; j < c->nparts &&
		     cmp_group(&c->parts[i], &c->parts[j]) == 0; j++)
			;
		err = assemble(c, &c->parts[i], j - i);
	}
	for (i = 0; i < c->nparts; i++)
		free(c->parts[i].data);
	free(c->parts);
	c->parts = NULL;
	c->nparts = c->capparts = 0;
	if (err < 0)
		return err;

	if (c->nitems > 1)
		qsort(c->items, c->nitems, sizeof(*c->items), cmp_item);
	/* Drop exact repeats (a line collected twice); keep conflicts. */
	for (i = 0, k = 0; i < c->nitems; i++) {
		bool dup = false;

		for (j = k; j-- > 0;) {
			const struct auditfwd_item *a = &c->items[j];

			if (memcmp(a->vault_id, c->items[i].vault_id,
				   AUDITREC_VAULT_ID_BYTES) != 0 ||
			    a->segment != c->items[i].segment ||
			    a->seq != c->items[i].seq)
				break;
			if (a->len == c->items[i].len &&
			    memcmp(a->bytes, c->items[i].bytes, a->len) == 0) {
				dup = true;
				break;
			}
		}
		if (dup) {
			free(c->items[i].bytes);
			c->st.duplicates++;
		} else {
			c->items[k++] = c->items[i];
		}
	}
	c->nitems = k;
	c->st.items = k;
	*items = c->items;
	*n = c->nitems;
	*st = c->st;
	return 0;
}

void auditfwd_collector_free(struct auditfwd_collector *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nparts; i++)
		free(c->parts[i].data);
	free(c->parts);
	for (size_t i = 0; i < c->nitems; i++)
		free(c->items[i].bytes);
	free(c->items);
	free(c);
}

/* ---- the sender ---- */

/* One queued item. */
struct qitem {
	struct qitem *next;
	uint64_t segment, seq;
	size_t len;
	uint8_t bytes[];
};

struct auditfwd {
	pthread_mutex_t mu;		/* the queue, counters and flags */
	pthread_cond_t work;		/* an item was queued, or stop */
	pthread_cond_t idle;		/* nothing queued or in flight */
	struct qitem *head, *tail;
	size_t queued_bytes;		/* in the queue */
	uint64_t pending;		/* items in the queue or in flight */
	uint64_t forwarded, dropped;
	bool running, stop, warned;
	int64_t deadline_ms;		/* when stopping: give up waiting then */
	pthread_t thread;

	/* The sender's own (the thread, or flush/free without one). */
	int fd;				/* connected socket, or -1 */
	struct sockaddr_un sa;
	socklen_t salen;
	int64_t next_try_ms;		/* CLOCK_MONOTONIC; 0 = now */
	uint8_t vault_id[AUDITREC_VAULT_ID_BYTES];
	char buf[AUDITFWD_DGRAM_MAX];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int auditfwd_open(const char *path,
		  const uint8_t vault_id[AUDITREC_VAULT_ID_BYTES],
		  struct auditfwd **out)
{
	pthread_condattr_t ca;
	struct auditfwd *f;
	size_t len = strlen(path);

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	if (len == 0 || len >= sizeof(f->sa.sun_path)) {
		free(f);
		return -EINVAL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->work, &ca);
	pthread_cond_init(&f->idle, &ca);
	pthread_condattr_destroy(&ca);
	f->fd = -1;
	f->sa.sun_family = AF_UNIX;
	memcpy(f->sa.sun_path, path, len + 1);
	f->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	memcpy(f->vault_id, vault_id, sizeof(f->vault_id));
	*out = f;
	return 0;
}

/* Count a dropped item; say so the first time.  f->mu held. */
static void note_drop(struct auditfwd *f, int err)
{
	f->dropped++;
	if (f->warned)
		return;
	f->warned = true;
	vlog(LOG_WARNING, "audit_syslog: cannot send the access log to '%s': "
	     "%s; dropping what cannot be sent (counted in the unmount "
	     "record)", f->sa.sun_path, strerror(err));
}

void auditfwd_copy(void *arg, uint64_t segment, uint64_t seq,
		   const uint8_t *bytes, size_t len)
{
	struct auditfwd *f = arg;
	struct qitem *q = NULL;

	pthread_mutex_lock(&f->mu);
	if (len == 0 || len > AUDITFWD_ITEM_MAX) {
		note_drop(f, EINVAL);
		goto out;
	}
	if (f->queued_bytes + len > AUDITFWD_QUEUE_BYTES) {
		note_drop(f, ENOBUFS);
		goto out;
	}
	q = malloc(sizeof(*q) + len);
	if (q == NULL) {
		note_drop(f, ENOMEM);
		goto out;
	}
	q->next = NULL;
	q->segment = segment;
	q->seq = seq;
	q->len = len;
	memcpy(q->bytes, bytes, len);
	if (f->tail != NULL)
		f->tail->next = q;
	else
		f->head = q;
	f->tail = q;
	f->queued_bytes += len;
	f->pending++;
	pthread_cond_signal(&f->work);
out:
	pthread_mutex_unlock(&f->mu);
}

/* The first queued item, taken off the queue (still pending); f->mu held. */
static struct qitem *pop(struct auditfwd *f)
{
	struct qitem *q = f->head;

	if (q == NULL)
		return NULL;
	f->head = q->next;
	if (f->head == NULL)
		f->tail = NULL;
	f->queued_bytes -= q->len;
	return q;
}

/* Account for q, sent (err 0) or not, and free it; f->mu held. */
static void done(struct auditfwd *f, struct qitem *q, int err)
{
	if (err == 0)
		f->forwarded++;
	else
		note_drop(f, err);
	free(q);
	if (--f->pending == 0)
		pthread_cond_broadcast(&f->idle);
}

/* Connect if not connected and allowed to try now. */
static int ensure_connected(struct auditfwd *f, bool force)
{
	int fd, err;

	if (f->fd >= 0)
		return 0;
	if (!force && f->next_try_ms != 0 && mono_ms() < f->next_try_ms)
		return -ENOTCONN;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		err = -errno;
	else if (connect(fd, (const struct sockaddr *)&f->sa, f->salen) < 0)
		err = -errno;
	else
		err = 0;
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		f->next_try_ms = mono_ms() + RETRY_MS;
		return err;
	}
	f->fd = fd;
	f->next_try_ms = 0;
	return 0;
}

static void disconnect(struct auditfwd *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* The receiver went away (restarted, socket removed): reconnect once. */
static bool gone(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN || err == ENOENT ||
	       err == EDESTADDRREQ || err == EPIPE || err == ECONNRESET;
}

/* Stop waiting for room: the owner is closing and the time is up. */
static bool give_up(struct auditfwd *f)
{
	bool r;

	pthread_mutex_lock(&f->mu);
	r = f->stop && mono_ms() >= f->deadline_ms;
	pthread_mutex_unlock(&f->mu);
	return r;
}

/*
 * Send every part of q.  wait: when the receiver's queue is full, wait
 * for room (the thread; until give_up()); else drop at once.  0 or the
 * errno of the failure.
 */
static int send_item(struct auditfwd *f, const struct qitem *q, bool wait)
{
	uint8_t chain[AUDITREC_CHAIN_BYTES];
	unsigned parts = auditfwd_parts(q->len);
	int64_t now = (int64_t)time(NULL);
	uint32_t pid = (uint32_t)getpid();
	bool retried = false;
	int err;

	err = ensure_connected(f, false);
	if (err < 0)
		return -err;
	auditrec_chain(q->bytes, q->len, chain);
	for (unsigned part = 1; part <= parts; part++) {
		size_t n;

		err = format_part(f->vault_id, q->segment, q->seq, q->bytes,
				  q->len, chain, part, now, pid, f->buf,
				  sizeof(f->buf), &n);
		if (err < 0)
			return -err;
		while (send(f->fd, f->buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			err = errno;
			if (err == EINTR)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = f->fd,
						      .events = POLLOUT };

				if (!wait || give_up(f))
					return err;
				(void)poll(&pfd, 1, POLL_MS);
				continue;
			}
			if (!gone(err))
				return err;
			disconnect(f);
			if (retried || ensure_connected(f, true) < 0)
				return err;
			retried = true;
		}
	}
	return 0;
}

static void *sender(void *arg)
{
	struct auditfwd *f = arg;
	struct qitem *q;
	int err;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->head == NULL && !f->stop)
			pthread_cond_wait(&f->work, &f->mu);
		q = pop(f);
		if (q == NULL)
			break;		/* stopping, and nothing left */
		pthread_mutex_unlock(&f->mu);
		err = send_item(f, q, true);
		pthread_mutex_lock(&f->mu);
		done(f, q, err);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int auditfwd_start(struct auditfwd *f)
{
	int err;

	pthread_mutex_lock(&f->mu);
	if (f->running) {
		pthread_mutex_unlock(&f->mu);
		return -EALREADY;
	}
	err = pthread_create(&f->thread, NULL, sender, f);
	if (err == 0)
		f->running = true;
	pthread_mutex_unlock(&f->mu);
	return -err;
}

/* Without a thread: send what is queued now, never waiting; f->mu held. */
static void send_now(struct auditfwd *f)
{
	struct qitem *q;

	while ((q = pop(f)) != NULL) {
		int err;

		pthread_mutex_unlock(&f->mu);
		err = send_item(f, q, false);
		pthread_mutex_lock(&f->mu);
		done(f, q, err);
	}
}

uint64_t auditfwd_flush(struct auditfwd *f, unsigned timeout_ms)
{
	uint64_t left;

	pthread_mutex_lock(&f->mu);
	if (f->running) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (f->pending > 0 &&
		       pthread_cond_timedwait(&f->idle, &f->mu, &ts) == 0)
			;
	} else {
		send_now(f);
	}
	left = f->pending;
	pthread_mutex_unlock(&f->mu);
	return left;
}

void auditfwd_counts(struct auditfwd *f, uint64_t *forwarded,
		     uint64_t *dropped)
{
	pthread_mutex_lock(&f->mu);
	*forwarded = f->forwarded;
	*dropped = f->dropped;
	pthread_mutex_unlock(&f->mu);
}

void auditfwd_free(struct auditfwd *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	if (f->running) {
		f->stop = true;
		f->deadline_ms = mono_ms() + STOP_WAIT_MS;
		pthread_cond_signal(&f->work);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
		pthread_mutex_lock(&f->mu);
		f->running = false;
	} else {
		send_now(f);
	}
	pthread_mutex_unlock(&f->mu);
	disconnect(f);
	pthread_cond_destroy(&f->work);
	pthread_cond_destroy(&f->idle);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
