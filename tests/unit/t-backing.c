/* t-backing.c - vault directory layout and helpers (vaultfs/backing.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tap.h"
#include "../../vaultfs/backing.h"
#include "../../vaultfs/fileio.h"
#include "../../vaultfs/names.h"
#include "../../vaultfs/seal.h"

static char root[] = "/tmp/t-backing.XXXXXX";

static int open_dir(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

static int put(int dirfd, const char *name, const void *data, size_t len)
{
	unlinkat(dirfd, name, 0);
	return write_file_new(dirfd, name, data, len, 0644);
}

/* Number of entries of dirfd whose name starts with prefix (or contains
 * ".tmp." when prefix is NULL). */
static int count_tmp(int dirfd, const char *prefix)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (prefix ? strncmp(de->d_name, prefix, strlen(prefix)) == 0
			   : strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

static mode_t mode_of(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return (mode_t)-1;
	return st.st_mode;
}

static void rm_rf(const char *path)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", path,
		 path);
	if (system(cmd) != 0)
		diag("could not remove %s", path);
}

static void test_layout(int vfd)
{
	uint8_t id[NAMES_DIRID_BYTES], raw[NAMES_DIRID_BYTES + 1];
	size_t len = 0;
	int empty = -1, dfd, fd;

	is_int(backing_dir_is_empty(vfd, &empty), 0, "dir_is_empty succeeds");
	is_int(empty, 1, "fresh directory is empty");

	is_int(backing_init_layout(vfd), 0, "init layout");
	empty = -1;
	ok(backing_dir_is_empty(vfd, &empty) == 0 && empty == 0,
	   "initialised vault is not empty");
	is_int(mode_of(vfd, BACKING_DATA_DIR), S_IFDIR | 0700, "data/ 0700");
	is_int(mode_of(vfd, BACKING_AUDIT_DIR), S_IFDIR | 0700, "audit/ 0700");
	is_int(mode_of(vfd, BACKING_LOCK_FILE), S_IFREG | 0600,
	       "vault.lock 0600");
	is_int(count_tmp(vfd, NAMES_TMP_PREFIX), 0, "no temp dir left");

	dfd = open_dir(vfd, BACKING_DATA_DIR);
	ok(dfd >= 0, "open data/");
	is_int(mode_of(dfd, NAMES_DIRID_FILE), S_IFREG | 0444,
	       "data/" NAMES_DIRID_FILE " 0444");
	is_int(backing_read_dirid(dfd, id), 0, "read data/ dir id");
	ok(read_file_small(dfd, NAMES_DIRID_FILE, raw, sizeof(raw), &len) == 0
	   && len == NAMES_DIRID_BYTES && memcmp(raw, id, len) == 0,
	   "dir id is the file's 16 bytes");
	close(dfd);

	fd = open_dir(vfd, BACKING_AUDIT_DIR);
	empty = -1;
	ok(fd >= 0 && backing_dir_is_empty(fd, &empty) == 0 && empty == 1,
	   "audit/ is empty");
	if (fd >= 0)
		close(fd);

	is_int(backing_init_layout(vfd), -EEXIST, "second init refused");
	is_int(count_tmp(vfd, NAMES_TMP_PREFIX), 0,
	       "no temp dir left after refusal");

	/* is_empty must not move the caller's directory position. */
	fd = open_dir(vfd, ".");
	if (fd >= 0) {
		DIR *d = fdopendir(dup(fd));
		int before = 0, after = 0;

		while (d && readdir(d))
			before++;
		if (d)
			closedir(d);
		empty = -1;
		ok(backing_dir_is_empty(fd, &empty) == 0 && empty == 0,
		   "non-empty again");
		d = fdopendir(fd);
		rewinddir(d);
		while (d && readdir(d))
			after++;
		if (d)
			closedir(d);
		ok(before == after && before == 5, "entries: %d, %d", before,
		   after);
	}
}

static void test_mkdir(int vfd)
{
	uint8_t id[NAMES_DIRID_BYTES], id2[NAMES_DIRID_BYTES];
	uint8_t top[NAMES_DIRID_BYTES], got[NAMES_DIRID_BYTES];
	int dfd = open_dir(vfd, BACKING_DATA_DIR), sfd;
	mode_t old;

	if (backing_read_dirid(dfd, top) != 0)
		ok(0, "read data id");
	is_int(backing_mkdir(dfd, "sub", 0750, id), 0, "mkdir");
	is_int(mode_of(dfd, "sub"), S_IFDIR | 0750, "requested mode applied");
	sfd = open_dir(dfd, "sub");
	ok(sfd >= 0 && backing_read_dirid(sfd, got) == 0 &&
	   memcmp(got, id, sizeof(id)) == 0, "new dir holds the returned id");
	ok(memcmp(id, top, sizeof(id)) != 0, "ids differ between directories");
	is_int(mode_of(sfd, NAMES_DIRID_FILE), S_IFREG | 0444, "id file 0444");
	if (sfd >= 0)
		close(sfd);

	memset(id2, 0xaa, sizeof(id2));
	is_int(backing_mkdir(dfd, "sub", 0700, id2), -EEXIST,
	       "existing directory refused");
	is_int(count_tmp(dfd, NAMES_TMP_PREFIX), 0, "no temp dir left");
	sfd = open_dir(dfd, "sub");
	ok(sfd >= 0 && backing_read_dirid(sfd, got) == 0 &&
	   memcmp(got, id, sizeof(id)) == 0, "existing directory untouched");
	if (sfd >= 0)
		close(sfd);

	if (put(dfd, "file", "x", 1) != 0)
		ok(0, "make file");
	is_int(backing_mkdir(dfd, "file", 0700, id2), -EEXIST,
	       "existing file refused");
	is_int(mode_of(dfd, "file"), S_IFREG | 0644, "file untouched");
	if (mkdirat(dfd, "empty", 0700) != 0)
		ok(0, "make empty dir");
	is_int(backing_mkdir(dfd, "empty", 0700, id2), -EEXIST,
	       "existing empty directory refused");
	if (symlinkat("sub", dfd, "lnk") != 0)
		ok(0, "make symlink");
	is_int(backing_mkdir(dfd, "lnk", 0700, id2), -EEXIST,
	       "existing symlink refused");
	is_int(mode_of(dfd, "lnk") & S_IFMT, S_IFLNK, "symlink untouched");
	is_int(count_tmp(dfd, NAMES_TMP_PREFIX), 0, "still no temp dir left");

	/* A mode without owner write must still work (and clean up). */
	is_int(backing_mkdir(dfd, "ro", 0500, id2), 0, "mkdir mode 0500");
	is_int(mode_of(dfd, "ro"), S_IFDIR | 0500, "mode 0500 applied");
	is_int(backing_mkdir(dfd, "ro", 0500, id2), -EEXIST,
	       "0500 again refused");
	is_int(backing_mkdir(dfd, "zero", 0, id2), 0, "mkdir mode 0");
	is_int(mode_of(dfd, "zero"), S_IFDIR, "mode 0 applied");
	is_int(backing_mkdir(dfd, "sticky", 01777, id2), 0, "mkdir mode 01777");
	is_int(mode_of(dfd, "sticky"), S_IFDIR | 01777, "mode 01777 applied");
	is_int(count_tmp(dfd, NAMES_TMP_PREFIX), 0, "no temp dir after these");

	old = umask(0777);
	is_int(backing_mkdir(dfd, "masked", 0755, id2), 0,
	       "mkdir under umask 0777");
	umask(old);
	is_int(mode_of(dfd, "masked"), S_IFDIR | 0755, "umask not applied");
	sfd = open_dir(dfd, "masked");
	ok(sfd >= 0 && backing_read_dirid(sfd, got) == 0 &&
	   memcmp(got, id2, sizeof(id2)) == 0, "id readable under umask 0777");
	if (sfd >= 0)
		close(sfd);

	is_int(backing_mkdir(dfd, "missing/child", 0700, id2), -ENOENT,
	       "mkdir below a missing directory fails");
	is_int(count_tmp(dfd, NAMES_TMP_PREFIX), 0, "and leaves no temp dir");
	is_int(names_classify(NAMES_TMP_PREFIX "-0011223344556677"),
	       NAMES_RESERVED, "temp names are reserved");
	close(dfd);
}

/*
 * As an ordinary account (the daemon need not be root): a umask of 0777 and
 * modes without owner write must work, and failures must clean up.
 */
static int unprivileged_mkdir(int pfd)
{
	uint8_t id[NAMES_DIRID_BYTES];
	int fails = 0;

	int vfd;

	if (mkdirat(pfd, "vault", 0700) != 0)
		return 99;
	vfd = open_dir(pfd, "vault");
	umask(0777);
	fails += backing_init_layout(vfd) != 0;
	fails += mode_of(vfd, BACKING_DATA_DIR) != (S_IFDIR | 0700);
	fails += mode_of(vfd, BACKING_AUDIT_DIR) != (S_IFDIR | 0700);
	fails += mode_of(vfd, BACKING_LOCK_FILE) != (S_IFREG | 0600);
	if (vfd >= 0) {
		int dfd = open_dir(vfd, BACKING_DATA_DIR), lfd = -1;

		fails += backing_read_dirid(dfd, id) != 0;
		fails += mode_of(dfd, NAMES_DIRID_FILE) != (S_IFREG | 0444);
		fails += backing_lock(vfd, &lfd) != 0;
		if (lfd >= 0)
			close(lfd);
		if (dfd >= 0)
			close(dfd);
		close(vfd);
	}
	fails += backing_mkdir(pfd, "masked", 0755, id) != 0;
	fails += backing_mkdir(pfd, "ro", 0500, id) != 0;
	fails += backing_mkdir(pfd, "ro", 0500, id) != -EEXIST;
	fails += backing_mkdir(pfd, "gone/x", 0500, id) != -ENOENT;
	fails += mode_of(pfd, "masked") != (S_IFDIR | 0755);
	fails += mode_of(pfd, "ro") != (S_IFDIR | 0500);
	fails += count_tmp(pfd, NAMES_TMP_PREFIX) != 0;
	return fails;
}

static void test_mkdir_unprivileged(int vfd)
{
	int st = 0, pfd;
	pid_t pid;

	if (geteuid() != 0) {
		pfd = open_dir(vfd, BACKING_DATA_DIR);
		is_int(unprivileged_mkdir(pfd), 0, "mkdir as ordinary account");
		close(pfd);
		return;
	}
	if (mkdirat(vfd, "nobody", 0700) != 0 ||
	    fchownat(vfd, "nobody", 65534, 65534, AT_SYMLINK_NOFOLLOW) != 0) {
		ok(0, "prepare a directory for an ordinary account");
		return;
	}
	/* The child works through pfd: the 0700 parents need not be open. */
	pfd = open_dir(vfd, "nobody");
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(100);
		_exit(unprivileged_mkdir(pfd));
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		st = -1;
	ok(st == 0, "mkdir as an ordinary account (wait status %d)", st);
	close(pfd);
}

static void test_lock(int vfd)
{
	int a = -1, b = -1, c = -1, st = 0;
	pid_t pid;

	is_int(backing_lock(vfd, &a), 0, "first lock");
	is_int(backing_lock(vfd, &b), -EBUSY, "second lock (other fd) busy");
	pid = fork();
	if (pid == 0) {
		int x;

		_exit(backing_lock(vfd, &x) == -EBUSY ? 0 : 1);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	   WEXITSTATUS(st) == 0, "lock busy in another process");
	close(a);
	is_int(backing_lock(vfd, &c), 0, "lock again after release");
	ok(c >= 0 && (fcntl(c, F_GETFD) & FD_CLOEXEC), "lock fd is close-on-exec");
	if (c >= 0)
		close(c);

	if (renameat(vfd, BACKING_LOCK_FILE, vfd, "lock.real") != 0 ||
	    symlinkat("lock.real", vfd, BACKING_LOCK_FILE) != 0)
		ok(0, "plant symlink");
	ok(backing_lock(vfd, &c) < 0, "symlinked lock file not followed");
	unlinkat(vfd, BACKING_LOCK_FILE, 0);
	is_int(backing_lock(vfd, &c), -ENOENT, "missing lock file");
	if (mkdirat(vfd, BACKING_LOCK_FILE, 0700) != 0)
		ok(0, "plant directory");
	ok(backing_lock(vfd, &c) < 0, "directory as lock file refused");
	unlinkat(vfd, BACKING_LOCK_FILE, AT_REMOVEDIR);
	if (renameat(vfd, "lock.real", vfd, BACKING_LOCK_FILE) != 0)
		ok(0, "restore lock file");
	is_int(backing_lock(vfd, &c), 0, "restored lock works");
	if (c >= 0)
		close(c);
}

static void test_dirid(int vfd)
{
	uint8_t id[NAMES_DIRID_BYTES], good[NAMES_DIRID_BYTES];
	uint8_t big[NAMES_DIRID_BYTES + 1];
	int fd;

	if (mkdirat(vfd, "ids", 0700) != 0)
		ok(0, "mkdir ids");
	fd = open_dir(vfd, "ids");
	memset(good, 0x5a, sizeof(good));
	memset(big, 0x5a, sizeof(big));

	is_int(backing_read_dirid(fd, id), -EBADMSG, "missing id file");
	put(fd, NAMES_DIRID_FILE, good, 0);
	is_int(backing_read_dirid(fd, id), -EBADMSG, "empty id file");
	put(fd, NAMES_DIRID_FILE, good, 15);
	is_int(backing_read_dirid(fd, id), -EBADMSG, "15-byte id file");
	put(fd, NAMES_DIRID_FILE, big, 17);
	is_int(backing_read_dirid(fd, id), -EBADMSG, "17-byte id file");
	put(fd, NAMES_DIRID_FILE, good, 16);
	ok(backing_read_dirid(fd, id) == 0 && memcmp(id, good, 16) == 0,
	   "16-byte id file read");

	/* A symlink to a valid id file must not be followed. */
	if (renameat(fd, NAMES_DIRID_FILE, fd, "real-id") != 0 ||
	    symlinkat("real-id", fd, NAMES_DIRID_FILE) != 0)
		ok(0, "plant symlink");
	is_int(backing_read_dirid(fd, id), -EBADMSG,
	       "symlinked id file not followed");
	unlinkat(fd, NAMES_DIRID_FILE, 0);
	if (mkdirat(fd, NAMES_DIRID_FILE, 0700) != 0)
		ok(0, "plant directory");
	is_int(backing_read_dirid(fd, id), -EBADMSG, "directory as id file");
	unlinkat(fd, NAMES_DIRID_FILE, AT_REMOVEDIR);
	close(fd);
}

static void test_longnames(int vfd)
{
	uint8_t key[SEAL_KEY_BYTES], dirid[NAMES_DIRID_BYTES];
	char name[201], side[NAMES_BACKING_MAX + 8];
	char ea[NAMES_ENC_MAX], ba[NAMES_BACKING_MAX];
	char eb[NAMES_ENC_MAX], bb[NAMES_BACKING_MAX];
	char got[NAMES_ENC_MAX], big[NAMES_ENC_MAX + 1];
	static const char zero[NAMES_ENC_MAX];
	struct names_key *k;
	size_t len = 0;
	bool la = false, lb = false;
	int fd;

	seal_random(key, sizeof(key));
	seal_random(dirid, sizeof(dirid));
	k = names_key_new(key);
	if (!k) {
		ok(0, "names_key_new");
		return;
	}
	memset(name, 'a', 200);
	name[200] = '\0';
	if (names_encrypt(k, dirid, name, 200, ea, ba, &la) != 0)
		ok(0, "encrypt a");
	name[0] = 'b';
	if (names_encrypt(k, dirid, name, 200, eb, bb, &lb) != 0)
		ok(0, "encrypt b");
	ok(la && lb, "both names are long");
	fd = open_dir(vfd, BACKING_DATA_DIR);
	snprintf(side, sizeof(side), "%s%s", ba, NAMES_LONG_SUFFIX);

	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "missing side file");
	is_int(backing_write_longname(fd, ba, ea), 0, "write side file");
	is_int(mode_of(fd, side), S_IFREG | 0644, "side file mode 0644");
	ok(backing_read_longname(fd, ba, got, &len) == 0 &&
	   len == strlen(ea) && strcmp(got, ea) == 0, "read side file back");
	is_int(backing_write_longname(fd, ba, ea), 0, "rewrite side file");
	is_int(count_tmp(fd, NULL), 0, "no temp file left");
	is_int(backing_write_longname(fd, ba, eb), -EINVAL,
	       "writing another entry's name refused");
	ok(backing_read_longname(fd, ba, got, &len) == 0 &&
	   strcmp(got, ea) == 0, "side file unchanged");

	/* Planted content. */
	put(fd, side, eb, strlen(eb));
	memset(got, 'X', sizeof(got));
	len = 7;
	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "side file of another entry rejected");
	ok(len == 0 && memcmp(got, zero, sizeof(zero)) == 0,
	   "output wiped on rejection");
	put(fd, side, ea, strlen(ea) - 1);
	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "truncated side file rejected");
	memcpy(big, ea, strlen(ea) + 1);
	big[strlen(ea)] = '\0';
	put(fd, side, big, strlen(ea) + 1);
	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "side file with trailing NUL rejected");
	memset(big, 'A', sizeof(big));
	put(fd, side, big, sizeof(big));
	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "oversized side file rejected");
	put(fd, side, ea, strlen(ea));
	ok(backing_read_longname(fd, ba, got, &len) == 0, "restored");

	/* Symlink planted as the side file. */
	if (renameat(fd, side, fd, "real-side") != 0 ||
	    symlinkat("real-side", fd, side) != 0)
		ok(0, "plant symlink");
	is_int(backing_read_longname(fd, ba, got, &len), -EBADMSG,
	       "symlinked side file not followed");
	unlinkat(fd, side, 0);
	unlinkat(fd, "real-side", 0);

	is_int(backing_write_longname(fd, ba, ea), 0, "write again");
	is_int(backing_remove_longname(fd, ba), 0, "remove side file");
	ok(faccessat(fd, side, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
	   errno == ENOENT, "side file gone");
	is_int(backing_remove_longname(fd, ba), 0, "removing a missing one");

	is_int(backing_write_longname(fd, "plain", ea), -EINVAL,
	       "write: not a long entry");
	is_int(backing_read_longname(fd, "plain", got, &len), -EINVAL,
	       "read: not a long entry");
	is_int(backing_remove_longname(fd, "../x"), -EINVAL,
	       "remove: not a long entry");
	is_int(backing_write_longname(fd, side, ea), -EINVAL,
	       "write: side name is not an entry");
	close(fd);
	names_key_free(k);
}

int main(void)
{
	int vfd;

	if (seal_init() != 0) {
		ok(0, "seal_init");
		return done_testing();
	}
	umask(022);
	if (!mkdtemp(root)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	vfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok(vfd >= 0, "open temp vault");
	if (vfd < 0)
		return done_testing();

	test_layout(vfd);
	test_mkdir(vfd);
	test_mkdir_unprivileged(vfd);
	test_lock(vfd);
	test_dirid(vfd);
	test_longnames(vfd);

	close(vfd);
	rm_rf(root);
	return done_testing();
}
