#!/bin/sh
# t1004-apps: everyday programs in the vault: cp -a, tar, rsync, git,
# sqlite3, editor-style saves, a C compiler.
. "$(dirname "$0")/lib.sh"
need_fuse
setup_mounted_vault

# meta DIR: names, types, modes, mtimes (s) and link targets of a tree
meta() {
	(cd "$1" && find . -printf '%p %y %m %TY%Tm%Td%TH%TM%TS %l\n' |
		sed 's/\.[0-9]* / /' | LC_ALL=C sort)
}

# A reference tree: nested dirs, sizes from 0 to 300 KB, text and random,
# modes, symlinks, an empty directory, old mtimes.
mk_tree() {
	mkdir -p "$1"
	d=0
	while [ $d -lt 4 ]; do
		mkdir -p "$1/dir$d/sub"
		f=0
		while [ $f -lt 12 ]; do
			case $((f % 4)) in
			0) seq 1 $((f * d * 997 + 1)) ;;
			1) head -c $((f * 23456 + d)) /dev/urandom ;;
			2) : ;;
			3) head -c $((f * 777)) /dev/zero ;;
			esac >"$1/dir$d/file$f"
			f=$((f + 1))
		done
		echo "sub $d" >"$1/dir$d/sub/leaf"
		chmod 0600 "$1/dir$d/file1"
		chmod 0755 "$1/dir$d/file2"
		ln -s file0 "$1/dir$d/link0"
		ln -s ../dir0/file4 "$1/dir$d/uplink"
		touch -d "2010-0$((d + 1))-15 12:34:56" "$1/dir$d/file3"
		d=$((d + 1))
	done
	mkdir "$1/empty"
	chmod 0700 "$1/dir2"
}
mk_tree "$REF/tree"

# --- cp -a in and out ------------------------------------------------------------
ok "cp -a a tree into the vault" cp -a "$REF/tree" "$MNT/tree"
ok "  diff -r identical" diff -r --no-dereference "$REF/tree" "$MNT/tree"
meta "$REF/tree" >"$T/meta.ref"
meta "$MNT/tree" >"$T/meta.vault"
ok "  modes, mtimes and symlinks preserved" diff "$T/meta.ref" "$T/meta.vault"
ok "cp -a the tree back out" cp -a "$MNT/tree" "$T/copyout"
ok "  diff -r identical" diff -r --no-dereference "$REF/tree" "$T/copyout"
meta "$T/copyout" >"$T/meta.out"
ok "  metadata identical" diff "$T/meta.ref" "$T/meta.out"

# --- tar ---------------------------------------------------------------------------
ok "tar c from the reference into the vault" tar -C "$REF" -cf "$MNT/tree.tar" tree
ok "tar x inside the vault" sh -c 'mkdir "$1/untar" && tar -C "$1/untar" -xf "$1/tree.tar"' sh "$MNT"
ok "  identical" diff -r --no-dereference "$REF/tree" "$MNT/untar/tree"
ok "tar c from the vault" tar -C "$MNT" -cf "$T/out.tar" tree
ok "  tar t lists the same as from the reference" \
	sh -c 'tar -tvf "$1" | sort >"$3.a" && tar -C "$2" -cf - tree | tar -tvf - | sort >"$3.b" && diff "$3.a" "$3.b"' \
	sh "$T/out.tar" "$REF" "$T/tarlist"

# --- rsync -----------------------------------------------------------------------
if command -v rsync >/dev/null 2>&1; then
	ok "rsync -a into the vault" rsync -a "$REF/tree/" "$MNT/rsynced/"
	ok "  identical" diff -r --no-dereference "$REF/tree" "$MNT/rsynced"
	run rsync -a -i "$REF/tree/" "$MNT/rsynced/"
	is "$RC:$OUT" "0:" "  a second rsync -a has nothing to do (sizes and mtimes kept)"
	echo changed >>"$REF/tree/dir1/file0"
	run rsync -a -i "$REF/tree/" "$MNT/rsynced/"
	like "$OUT" "*dir1/file0*" "  a changed file is transferred"
	ok "  identical again" diff -r "$REF/tree" "$MNT/rsynced"
	ok "rsync -a out of the vault" rsync -a "$MNT/rsynced/" "$T/rsout/"
	ok "  identical" diff -r --no-dereference "$REF/tree" "$T/rsout"
else
	skip "rsync not installed" 7
fi

# --- git -------------------------------------------------------------------------
if command -v git >/dev/null 2>&1; then
	G=$MNT/repo
	git_() { tmo git -C "$G" -c user.name=Test -c user.email=test@example.org \
		-c init.defaultBranch=main "$@"; }
	mkdir "$G"
	ok "git init" git_ init -q
	cp -r "$REF/tree/dir0" "$G/src"
	ok "git add" git_ add -A
	ok "git commit" git_ commit -q -m "first"
	seq 1 5000 >"$G/src/numbers"
	echo change >>"$G/src/file0"
	git_ rm -q src/file5
	git_ add -A
	ok "second commit" git_ commit -q -m "second"
	ok "git fsck --full" git_ fsck --full --strict
	is "$(git_ log --oneline | wc -l)" 2 "git log shows 2 commits"
	is "$(git_ status --porcelain)" "" "git status clean"
	ok "git gc" git_ gc -q
	ok "git fsck after gc" git_ fsck --full
	ok "git clone out of the vault" git clone -q "$G" "$T/clone"
	ok "  same files as the work tree" diff -r --no-dereference "$G/src" "$T/clone/src"
	ok "git checkout of the first commit" git_ checkout -q HEAD~1
	ok "  restores the deleted file" test -f "$G/src/file5"
else
	skip "git not installed" 13
fi

# --- SQLite ----------------------------------------------------------------------
if command -v sqlite3 >/dev/null 2>&1; then
	DB=$MNT/test.db
	{
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INTEGER);"
		b=0
		while [ $b -lt 10 ]; do
			echo "BEGIN;"
			echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<1000)"
			echo "  INSERT INTO t(v, n) SELECT printf('row %d of batch $b', x), x + $b * 1000 FROM c;"
			echo "COMMIT;"
			b=$((b + 1))
		done
		echo "CREATE INDEX tn ON t(n);"
	} >"$T/load.sql"
	run sqlite3 "$DB" ".read $T/load.sql"
	is "$RC" 0 "sqlite3: create a table, 10,000 rows in 10 transactions"
	[ "$RC" = 0 ] || diag_file "$T/err"
	is "$(sqlite3 "$DB" 'SELECT count(*), sum(n) FROM t;')" "10000|50005000" "  count and sum"
	is "$(sqlite3 "$DB" 'PRAGMA integrity_check;')" ok "  PRAGMA integrity_check: ok"
	sqlite3 "$DB" "UPDATE t SET v = 'updated' WHERE n % 7 = 0; DELETE FROM t WHERE n % 10 = 0; VACUUM;"
	is "$(sqlite3 "$DB" "SELECT count(*) FROM t; SELECT count(*) FROM t WHERE v = 'updated';")" \
		"$(printf '9000\n1286')" "  update, delete, vacuum"
	is "$(sqlite3 "$DB" 'PRAGMA integrity_check;')" ok "  integrity_check after vacuum"

	mode=$(sqlite3 "$MNT/wal.db" 'PRAGMA journal_mode=WAL;' 2>"$T/wal.err")
	if [ "$mode" = wal ]; then
		run sqlite3 "$MNT/wal.db" ".read $T/load.sql"
		is "$RC" 0 "sqlite3 WAL mode: 10,000 rows"
		[ "$RC" = 0 ] || diag_file "$T/err"
		is "$(sqlite3 "$MNT/wal.db" 'SELECT count(*) FROM t; PRAGMA integrity_check;')" \
			"$(printf '10000\nok')" "  count and integrity_check"
		# readers and a writer at once (WAL's point)
		(i=0; while [ $i -lt 20 ]; do
			sqlite3 -cmd '.timeout 10000' "$MNT/wal.db" "INSERT INTO t(v, n) VALUES ('w', $i);" || exit 1
			i=$((i + 1)); done) &
		wp=$!
		rbad=0
		i=0
		while [ $i -lt 20 ]; do
			c=$(sqlite3 -cmd '.timeout 10000' "$MNT/wal.db" 'SELECT count(*) FROM t;' 2>>"$T/walr.err")
			[ "${c:-0}" -ge 10000 ] || rbad=$((rbad + 1))
			i=$((i + 1))
		done
		wait $wp
		is "$?:$rbad" "0:0" "  a writer and a reader at once"
		diag_file "$T/walr.err"
		is "$(sqlite3 "$MNT/wal.db" 'PRAGMA wal_checkpoint(TRUNCATE); SELECT count(*) FROM t;' | tail -n 1)" \
			10020 "  checkpoint, all rows there"
	else
		skip "WAL mode not available on the mount (journal_mode=$mode: $(head -c 200 "$T/wal.err"))" 4
	fi
else
	skip "sqlite3 not installed" 9
fi

# --- editor-style saves ------------------------------------------------------------
seq 1 3000 >"$MNT/doc.txt"
ino0=$(stat -c %i "$MNT/doc.txt")
seq 1 3001 >"$MNT/.doc.txt.swp"
ok "fsync the temp file" dd if=/dev/null of="$MNT/.doc.txt.swp" conv=notrunc,fsync
ok "rename it over the original" mv -f "$MNT/.doc.txt.swp" "$MNT/doc.txt"
seq 1 3001 >"$T/doc.want"
ok "  new content in place" cmp "$T/doc.want" "$MNT/doc.txt"
ok "  temp file gone" test ! -e "$MNT/.doc.txt.swp"
isnt "$(stat -c %i "$MNT/doc.txt")" "$ino0" "  it is the new inode"
ok "sed -i (temp file + rename)" sed -i 's/^3001$/last line/' "$MNT/doc.txt"
is "$(tail -n 1 "$MNT/doc.txt")" "last line" "  edited in place"
is "$(ls -a "$MNT" | grep -c '^sed')" 0 "  no temp file left"
# editor that keeps a backup (rename original away, write new, fsync)
mv "$MNT/doc.txt" "$MNT/doc.txt~"
cp "$T/doc.want" "$MNT/doc.txt" && sync "$MNT/doc.txt"
ok "backup-style save: new file" cmp "$T/doc.want" "$MNT/doc.txt"
is "$(tail -n 1 "$MNT/doc.txt~")" "last line" "  backup kept"

# --- compile and run a C program in the vault ----------------------------------------
if command -v cc >/dev/null 2>&1; then
	mkdir "$MNT/cprog"
	cat >"$MNT/cprog/hello.c" <<'EOF'
#include <stdio.h>
#include "hello.h"
int main(void) { printf("%s %d\n", GREETING, 6 * 7); return 0; }
EOF
	echo '#define GREETING "hello from the vault"' >"$MNT/cprog/hello.h"
	run sh -c 'cd "$1" && cc -Wall -O1 -c hello.c && cc -o hello hello.o' sh "$MNT/cprog"
	is "$RC" 0 "cc compiles and links in the vault"
	[ "$RC" = 0 ] || diag_file "$T/err"
	run "$MNT/cprog/hello"
	is "$OUT" "hello from the vault 42" "  the program runs from the vault"
else
	skip "no C compiler" 2
fi

# --- everything still there after a remount --------------------------------------------
(cd "$MNT" && find . -type f ! -path './repo/*' -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) >"$T/sums.before"
remount || abort "remount failed (exit $RC)"
(cd "$MNT" && find . -type f ! -path './repo/*' -print0 | LC_ALL=C sort -z |
	xargs -0 sha256sum) >"$T/sums.after"
ok "after remount: every file identical" diff "$T/sums.before" "$T/sums.after"
if command -v git >/dev/null 2>&1; then
	ok "after remount: git fsck" git -C "$MNT/repo" fsck --full
fi
if command -v sqlite3 >/dev/null 2>&1; then
	is "$(sqlite3 "$MNT/test.db" 'PRAGMA integrity_check;')" ok "after remount: sqlite integrity_check"
fi
ok "unmount" umount_vault

done_testing
